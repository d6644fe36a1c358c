"""What an attacker would try, through the real service; each attempt must fail, and is asserted.

Webhooks: correctly signed deliveries from a real installation whose payloads lack or mistype
what the handlers read, and garbage on the run pages. Test suites: reading the app's key, the
database or another run's files, escaping the workspace, outliving the run, and printing the
installation token. (Forged, replayed and oversized webhooks: tests/test_web.py. Filling the
disk, forking without end, memory: tests/suite/sandbox/ and tests/e2e/test_suites.py.)
"""

from __future__ import annotations

import base64
import json
import secrets
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.localgithub import CheckRun, LocalGitHub
from tests.e2e.harness import PASSING, Harness, git, watched
from tests.e2e.processes import until_none_left
from tests.e2e.records import until_processed

# The database plays no part in what a payload or a test suite can do to the service and the
# machine: SQLite only (the flow on PostgreSQL is in test_check_runs, test_recovery, test_reports
# and test_scale).
DATABASES = ("sqlite",)

CONFIG = '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest"]\n'

# The events the service handles, each with an action it acts on (never "deleted" or
# "suspend": those may rightly make it stop serving the installation).
EVENTS = {
    "push": None,
    "pull_request": "opened",
    "check_suite": "rerequested",
    "check_run": "rerequested",
    "installation": "created",
    "installation_repositories": "added",
    "issue_comment": "created",
}
# Every key a handler might read, with the wrong type.
MISTYPED: dict[str, Any] = {
    "ref": 7,
    "after": ["x"],
    "before": {},
    "head_commit": "x",
    "repository": "octo-org/sample",
    "pull_request": [],
    "number": "one",
    "check_suite": "x",
    "check_run": 1,
    "requested_action": 2,
    "comment": [],
    "issue": "x",
    "repositories": 3,
    "repositories_added": "x",
    "repositories_removed": None,
    "sender": 1,
    "organization": 2,
}


async def run_commit(harness: Harness, files: dict[str, str]) -> CheckRun:
    sha = harness.commit(files, "attack")
    await harness.push("main")
    [run] = await harness.completed(sha, timeout=240)
    return run


async def get(harness: Harness, path: str, method: str = "GET") -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, harness.service.url + path, data=b"\x00garbage") as response,
    ):
        return response.status, await response.read()


async def test_malformed_payloads_on_every_event_are_refused_harmlessly(harness: Harness) -> None:
    installation = {"id": harness.installation_id}
    payloads: list[tuple[str, dict[str, Any]]] = []
    for event, action in EVENTS.items():
        missing: dict[str, Any] = {"installation": installation}
        mistyped: dict[str, Any] = {**MISTYPED, "installation": {**installation, "account": 5}}
        if action is not None:
            missing["action"] = action
            mistyped["action"] = action
        payloads += [(event, missing), (event, mistyped), (event, {**mistyped, "action": 9})]
    accepted: list[str] = []
    for event, payload in payloads:
        delivery = await harness.github.send_webhook(harness.app, event, payload)
        assert delivery.status is not None
        assert 200 <= delivery.status < 500, (event, payload, delivery.status)
        if delivery.status == 202:
            accepted.append(delivery.delivery_id)
    await until_processed(harness, accepted)  # what was accepted is handled in the background
    assert (await get(harness, "/healthz"))[0] == 200
    assert harness.github.check_runs() == []
    # (A delivery whose handler raised is logged and recorded as failed: that is by design.)
    # And it still works.
    sha = harness.commit({**PASSING, "pyproject.toml": CONFIG})
    await harness.push("main")
    [run] = await harness.completed(sha, timeout=240)
    assert run.conclusion == "success", run.output.text


async def test_garbage_on_the_run_pages_is_answered_without_errors(harness: Harness) -> None:
    unknown = secrets.token_hex(8)
    assert (await get(harness, f"/runs/{unknown}"))[0] == 404
    assert (await get(harness, f"/runs/{unknown}/log?offset=abc"))[0] == 404
    assert (await get(harness, "/runs/%00%2e%2e%2f/log"))[0] == 404
    assert (await get(harness, "/runs/../../etc/passwd"))[0] == 404
    assert (await get(harness, "/no/such/page"))[0] == 404
    assert (await get(harness, f"/runs/{unknown}", "POST"))[0] == 405
    run = await run_commit(harness, {**PASSING, "pyproject.toml": CONFIG})
    assert run.details_url is not None
    page = run.details_url.removeprefix(harness.service.url)
    assert (await get(harness, f"{page}/log?offset=abc"))[0] == 400
    assert (await get(harness, f"{page}/log?offset=-5"))[0] == 400
    assert (await get(harness, f"{page}/log?offset=99999999999999999999"))[0] == 200
    assert (await get(harness, page, "POST"))[0] == 405
    assert (await get(harness, "/healthz"))[0] == 200


class KeyFileHarness(Harness):
    """The app's key in a 0600 file (GITHUB_PRIVATE_KEY_PATH), as an operator would keep it."""

    async def setup(
        self,
        *,
        workers: int = 2,
        extra_env: dict[str, str] | None = None,
        command: str = "serve",
    ) -> None:
        self.key_path = self.tmp / "keys" / "app.pem"
        await super().setup(workers=workers, extra_env=extra_env, command=command)
        # The app (and its key) exists only now: restart the service with the key as a file.
        self.service.stop()
        self.key_path.parent.mkdir(mode=0o700)
        self.key_path.touch(mode=0o600)
        self.key_path.write_text(self.app.private_key_pem)
        self.service.env.pop("GITHUB_PRIVATE_KEY")
        self.service.env["GITHUB_PRIVATE_KEY_PATH"] = str(self.key_path)
        await self.service.start()


@pytest.fixture
async def key_file_harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None
) -> AsyncIterator[KeyFileHarness]:
    """As conftest's `harness`, key file aside: afterwards, GitHub must have refused nothing."""
    async with watched(KeyFileHarness(github, tmp_path, database_url)) as world:
        yield world


async def test_the_tests_cannot_read_the_key_the_database_or_other_runs(
    key_file_harness: KeyFileHarness,
) -> None:
    harness = key_file_harness
    data = harness.tmp / "data"
    # A first run leaves its files in the data folder: the second must not see them.
    await run_commit(harness, {**PASSING, "pyproject.toml": CONFIG})
    attempt = f"""\
        import ctypes
        import errno
        import glob
        import os
        import subprocess
        from pathlib import Path

        import pytest

        KEY = {str(harness.key_path)!r}
        DATA = {str(data)!r}


        def unreadable(path):
            try:
                Path(path).read_bytes()
            except OSError:
                return True
            return False


        def test_the_key_file():
            assert unreadable(KEY)
            assert not os.path.exists(os.path.dirname(KEY))


        def test_the_database_and_the_data_folder():
            assert unreadable(DATA + "/conveyor.sqlite3")
            assert not os.path.exists(DATA)
            assert not glob.glob("/conveyor/**/*.sqlite3", recursive=True)


        def test_other_runs_through_dot_dot_and_proc():
            assert not os.path.exists("/conveyor/src/../../" + DATA)
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    root = f"/proc/{{pid}}/root"
                    assert not os.path.exists(root + DATA)
                    assert unreadable(root + KEY)
                    assert unreadable(f"/proc/{{pid}}/environ") or b"PRIVATE KEY" not in (
                        Path(f"/proc/{{pid}}/environ").read_bytes()
                    )


        def test_symlinks_out_of_the_workspace():
            os.symlink("/", "escape")
            os.symlink(DATA, "data")
            os.symlink(KEY, "key")
            assert not os.path.exists("escape" + DATA)
            assert unreadable("data/conveyor.sqlite3")
            assert unreadable("key")
            assert unreadable("escape" + KEY)


        def test_no_writing_outside():
            for path in ("/usr/evil", "/etc/evil", "/conveyor/evil", "/evil"):
                with pytest.raises(OSError):
                    Path(path).write_text("x")


        def test_no_user_namespace_to_become_root_in():
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.unshare(0x10000000) == -1  # CLONE_NEWUSER
            assert ctypes.get_errno() == errno.EPERM
            tried = subprocess.run(["unshare", "-r", "cat", KEY], capture_output=True)
            assert tried.returncode != 0 and b"PRIVATE" not in tried.stdout
        """
    run = await run_commit(harness, {"test_spy.py": textwrap.dedent(attempt)})
    assert run.conclusion == "success", run.output.text
    assert run.output.title == "7 tests passed", run.output.text  # with the first commit's
    # And on the host: the symlinks the job left point nowhere the service followed.
    assert harness.key_path.read_text() == harness.app.private_key_pem
    assert harness.key_path.stat().st_mode & 0o777 == 0o600
    assert not list(Path("/").glob("evil"))


async def test_nothing_the_tests_start_outlives_the_run(harness: Harness) -> None:
    mark = f"600.{secrets.randbelow(10**9):09d}"
    attempt = f"""\
        import subprocess


        def test_leave_a_daemon_behind():
            subprocess.run("setsid nohup sleep {mark} >/dev/null 2>&1 &", shell=True, check=True)
            subprocess.Popen(["sleep", "{mark}"], start_new_session=True)
        """
    run = await run_commit(
        harness, {"pyproject.toml": CONFIG, "test_daemon.py": textwrap.dedent(attempt)}
    )
    assert run.conclusion == "success", run.output.text
    await until_none_left(mark)


async def test_the_installation_token_appears_nowhere(harness: Harness) -> None:
    # The suite looks for the token everywhere it might be (the environment, git's config and
    # credentials in the checkout, HOME) and prints whatever it finds plain, in base64 and split
    # over two lines: the masking is the last line of defence, the token's absence the first.
    attempt = """\
        import base64
        import os
        from pathlib import Path


        def found():
            texts = ["\\n".join(f"{k}={v}" for k, v in os.environ.items())]
            for pattern in (".git/config", ".git/*credentials*", ".git-credentials", ".netrc"):
                for folder in (Path("/conveyor/src"), Path.home()):
                    texts += [p.read_text(errors="replace") for p in folder.glob(pattern)]
            return texts


        def test_print_the_token():
            for text in found():
                for word in text.replace("@", " ").replace(":", " ").split():
                    print(word)
                    print(base64.b64encode(word.encode()).decode())
                    print(word[: len(word) // 2])
                    print(word[len(word) // 2 :])


        def test_the_environment_has_no_token():
            assert not [k for k in os.environ if "TOKEN" in k or k.startswith("GITHUB")]
            assert "ghs_" not in "".join(os.environ.values())
        """
    # -s: what the tests print goes to the log even though they pass.
    config = CONFIG.replace('run = ["pytest"]', 'run = ["pytest -s"]')
    run = await run_commit(
        harness, {"pyproject.toml": config, "test_token.py": textwrap.dedent(attempt)}
    )
    assert run.conclusion == "success", run.output.text
    assert run.details_url is not None
    page = run.details_url.removeprefix(harness.service.url)
    status, html = await get(harness, page)
    assert status == 200
    status, raw = await get(harness, f"{page}/log")
    assert status == 200
    assert b"PATH=/" in raw  # what it found was printed
    tokens = [issued.token for issued in harness.github.tokens_issued]
    assert tokens
    published = [
        run.output.title or "",
        run.output.summary or "",
        run.output.text or "",
        html.decode(errors="replace"),
        raw.decode(errors="replace"),
        harness.service.log(),
        *(f.read_text(errors="replace") for f in (harness.tmp / "data").rglob("*.log")),
    ]
    for token in tokens:
        forms = [token, base64.b64encode(token.encode()).decode()[:-4]]
        for text in published:
            for form in forms:
                assert form not in text
            # Split over two lines: the token's halves next to each other, once the line
            # breaks are gone.
            assert token not in text.replace("\n", "").replace("\r", "")


SECRET_CONFIG = (
    '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest -s"]\n'
    'secrets = ["DEPLOY_TOKEN"]\n'
)
SECRET_SPY = """import base64
import os


def test_the_secret_is_here_and_printed_every_way():
    value = os.environ["DEPLOY_TOKEN"]
    assert value.startswith("s3cr3t-")
    assert "UNNAMED" not in os.environ  # only what the config names
    print(value)
    print(base64.b64encode(value.encode()).decode())
    print(value[:20])
    print(value[20:])
    assert value == "", value
"""
FORK_SPY = """import os


def test_a_fork_gets_no_secret():
    assert "DEPLOY_TOKEN" not in os.environ
"""


@pytest.fixture
async def secret_harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None
) -> AsyncIterator[Harness]:
    """The operator keeps values for the repository's secrets in SECRETS_FILE."""
    secrets_file = tmp_path / "operator" / "secrets.json"
    world = Harness(github, tmp_path, database_url)
    async with watched(world, extra_env={"SECRETS_FILE": str(secrets_file)}) as world:
        yield world


async def test_a_secret_reaches_the_tests_it_is_named_for_and_never_their_output(
    secret_harness: Harness,
) -> None:
    harness = secret_harness
    value = f"s3cr3t-{secrets.token_hex(16)}"
    unnamed = f"other-{secrets.token_hex(16)}"
    secrets_file = Path(harness.env["SECRETS_FILE"])
    secrets_file.parent.mkdir()
    secrets_file.write_text(
        json.dumps({"octo-org/sample": {"DEPLOY_TOKEN": value, "UNNAMED": unnamed}})
    )

    run = await run_commit(
        harness, {**PASSING, "pyproject.toml": SECRET_CONFIG, "test_secret.py": SECRET_SPY}
    )

    assert run.conclusion == "failure"  # the test got the value, then failed showing it
    assert run.details_url is not None
    log = (await get(harness, run.details_url.removeprefix(harness.service.url) + "/log"))[1]
    shown = [log.decode(errors="replace"), run.output.text or "", run.output.summary or ""]
    shown += [f"{a.message} {a.raw_details or ''}" for a in run.annotations]
    encoded = base64.b64encode(value.encode()).decode()
    for text in shown:
        assert value not in text
        assert encoded[4:-4] not in text
        assert value[7:27] not in text  # not even the half printed on its own line
    assert "***" in shown[0]

    fork = await harness.github.fork(harness.repo, owner="forker")
    harness.branch("from-fork")
    sha = harness.commit({"test_secret.py": FORK_SPY}, "a fork asks for the secret")
    await harness.github.push(fork, harness.work, "from-fork")
    await harness.github.open_pull_request(harness.repo, head="from-fork", head_repo=fork)
    [forked] = await harness.completed(sha, timeout=120)
    assert forked.conclusion == "success", forked.output.text


PLANTING_CONFIG = (
    '[tool.conveyor.checks.tests]\ninstall = ["python setup_env.py", "pip install pytest"]\n'
    'run = ["pytest"]\n'
)
SETUP = "import setup_helpers\n\nsetup_helpers.prepare()\n"
HONEST_HELPERS = """import os


def prepare():
    assert not os.path.exists("/conveyor/cache/planted"), "the download cache was planted"
"""
# The fork's setup code, run by an install command and a file it did not change: it plants
# files in the environment it builds and in the download cache, for the runs that come later.
PLANTING_HELPERS = """def prepare():
    open("/conveyor/env/planted.py", "w").write("STOLEN = True")
    open("/conveyor/cache/planted", "w").write("a wheel with a back door")
"""
NOTHING_PLANTED = """import os


def test_nothing_was_planted_in_the_environment():
    assert not os.path.exists("/conveyor/env/planted.py")
"""


async def test_a_fork_s_install_cannot_plant_anything_in_later_runs(harness: Harness) -> None:
    base = {
        **PASSING,
        "pyproject.toml": PLANTING_CONFIG,
        "setup_env.py": SETUP,
        "setup_helpers.py": HONEST_HELPERS,
        "requirements.txt": "# v1\n",
        "test_planted.py": NOTHING_PLANTED,
    }
    first = await run_commit(harness, base)
    assert first.conclusion == "success", first.output.text

    # The fork bumps a dependency file (a new environment) and changes the setup code.
    fork = await harness.github.fork(harness.repo, owner="forker")
    harness.branch("bump")
    sha = harness.commit(
        {"requirements.txt": "# v2\n", "setup_helpers.py": PLANTING_HELPERS}, "bump, and plant"
    )
    await harness.github.push(fork, harness.work, "bump")
    await harness.github.open_pull_request(harness.repo, head="bump", head_repo=fork)
    [forked] = await harness.completed(sha, timeout=240)
    assert forked.conclusion == "failure"  # its own run sees what it planted
    assert "for this run only (a pull request from a fork)" in (forked.output.summary or "")

    # The maintainers make the same bump on main: same dependencies, so the same environment
    # key; the environment must be built anew, not taken from the fork's run.
    git(harness.work, "checkout", "-q", "main")
    after = await run_commit(harness, {"requirements.txt": "# v2\n"})
    assert after.conclusion == "success", after.output.text
    assert "Environment: built" in (after.output.summary or ""), after.output.summary
