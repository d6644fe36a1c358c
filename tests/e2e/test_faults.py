"""GitHub, the network and repositories misbehaving: every check run still ends, nothing crashes.

Each test ends with the service still up and working: a fresh commit afterwards gets its
verdict (`still_working`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from app.localgithub import CheckRun, LocalGitHub
from tests.e2e.harness import FAILING, HELD, PASSING, SLOW, Harness, free_port, git, held
from tests.e2e.records import until_processed, until_swept

PATCH_RUN = r"/check-runs/\d+$"
# What GitHub, the network or the disk does to a run is met in the GitHub client, the worker and
# the sandbox, not in the database: SQLite, except for the burst (concurrent deliveries, each
# commit run once). The database's side of these flows (a verdict kept and sent by a sweep, a run
# superseded or ended) runs on both backends in tests/test_sweeper.py and tests/test_worker.py.
DATABASES = ("sqlite",)
BRIEF = {"test_brief.py": "import time\n\n\ndef test_brief():\n    time.sleep(2)\n"}
# A suite that needs no install and runs in a blink: bursts drain quickly.
TRIVIAL = {".conveyor.yml": "checks:\n  tests:\n    run: python -c pass\n"}


def settled(runs: list[CheckRun]) -> bool:
    return bool(runs) and all(r.status == "completed" for r in runs)


async def still_working(harness: Harness, branch: str = "after-the-fault") -> None:
    """The service answers its health check and gives a new commit its verdict."""
    harness.branch(branch)
    sha = harness.commit({f"{branch}.txt": "again\n", **PASSING}, "after the fault")
    await harness.push(branch)
    [run] = await harness.completed(sha, timeout=60)
    assert run.conclusion == "success", run.output
    assert harness.service.process is not None
    assert harness.service.process.poll() is None, "the service exited"


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None, caches: Path
) -> AsyncIterator[MakeHarness]:
    """A harness with chosen settings; `refusals_allowed` for tests that make GitHub refuse."""
    made: list[tuple[Harness, bool]] = []

    async def make(
        *, workers: int = 2, refusals_allowed: bool = False, extra_env: dict[str, str] | None = None
    ) -> Harness:
        world = Harness(github, tmp_path, database_url, caches=caches)
        await world.setup(workers=workers, extra_env=extra_env)
        made.append((world, refusals_allowed))
        return world

    yield make
    for world, refusals_allowed in made:
        world.stop()
        if not refusals_allowed:
            refused = [
                (c.method, c.path, c.status) for c in github.refused() if not c.fault_injected
            ]
            assert refused == [], f"the local GitHub refused calls:\n{refused}"


# -- GitHub slow or refusing for a moment --------------------------------------------------------


async def test_rate_limited_verdict_waits_for_retry_after(harness: Harness) -> None:
    """A 429 on the verdict: the client waits as long as Retry-After says, then delivers."""
    sha = harness.commit(PASSING, "calculator")
    harness.github.inject_fault(
        "PATCH",
        PATCH_RUN,
        429,
        times=2,
        headers={"Retry-After": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    await harness.push("main")

    [run] = await harness.completed(sha)

    assert run.conclusion == "success"
    limited = [c for c in harness.github.calls if c.fault_injected]
    assert [c.status for c in limited] == [429, 429]
    patches = [c for c in harness.github.calls if c.method == "PATCH" and not c.fault_injected]
    assert (patches[0].started_at - limited[-1].started_at).total_seconds() >= 1.0
    await still_working(harness)


async def test_expired_token_is_fetched_again_once(harness: Harness) -> None:
    """A 401 on a repository call (a token revoked early): one new token, and the call works."""
    harness.commit(PASSING, "calculator")
    sha = await harness.push("main")
    await harness.completed(sha)
    fetched = len(harness.github.tokens_issued)
    harness.github.inject_fault("POST", r"/check-runs$", 401, body={"message": "Bad credentials"})
    sha = harness.commit({"notes.txt": "a second commit\n"}, "second")
    await harness.push("main")

    [run] = await harness.completed(sha)

    assert run.conclusion == "success"
    assert len(harness.github.tokens_issued) == fetched + 1
    await still_working(harness)


async def test_slow_github_delays_the_verdict_but_does_not_lose_it(harness: Harness) -> None:
    """The token endpoint and a check-run update take seconds (under the client's timeout)."""
    harness.github.inject_fault("POST", r"/access_tokens$", 500, delay=3)
    harness.github.inject_fault("PATCH", PATCH_RUN, 502, times=2, delay=3)
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")

    [run] = await harness.completed(sha, timeout=90)

    assert run.conclusion == "success"
    assert [c.status for c in harness.github.calls if c.fault_injected] == [500, 502, 502]
    await still_working(harness)


async def test_a_call_slower_than_the_timeout_is_given_up_and_retried(
    make_harness: MakeHarness,
) -> None:
    """GitHub holds a check-run update for longer than GITHUB_TIMEOUT: the client stops waiting
    and sends it again, well before GitHub would have answered."""
    harness = await make_harness(extra_env={"GITHUB_TIMEOUT": "2"})
    harness.github.inject_fault("PATCH", PATCH_RUN, 502, times=1, delay=8)
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")

    [run] = await harness.completed(sha, timeout=90)

    assert run.conclusion == "success"
    # The held call never got an answer to record; the client gave up on it, said why, and
    # sent it again: both updates (in progress, then the verdict) went through.
    assert re.search(
        r"GitHub PATCH \S+/check-runs/\d+ failed \(TimeoutError\)", harness.service.log()
    )
    assert [c.status for c in harness.github.calls if c.method == "PATCH"] == [200, 200]


# -- GitHub down for longer than the client retries -----------------------------------------------


async def test_verdict_kept_while_github_is_down_and_delivered_by_the_sweeper(
    harness: Harness,
) -> None:
    """Every update fails for longer than a call's retries: the sweeper delivers it later."""
    harness.github.inject_fault("PATCH", PATCH_RUN, 500, times=12)
    sha = harness.commit({**PASSING, **FAILING}, "a failing test")
    await harness.push("main")

    [run] = await harness.completed(sha, timeout=90)

    assert run.conclusion == "failure"
    assert "test_add_negative" in f"{run.output.summary}{run.output.text}"
    failed = [c for c in harness.github.calls if c.fault_injected]
    assert len(failed) == 12  # all of the outage was sat through, none of it skipped
    last_failure = max(c.started_at for c in failed)
    [completing] = [
        c
        for c in harness.github.calls
        if c.method == "PATCH"
        and not c.fault_injected
        and isinstance(c.request_json, dict)
        and c.request_json.get("status") == "completed"
    ]
    assert completing.started_at > last_failure
    await still_working(harness)


# -- the installation, the branch or the repository going away ------------------------------------


async def test_uninstalled_during_a_run_ends_the_job_without_a_retry_storm(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(refusals_allowed=True)
    sha = harness.commit({**PASSING, **HELD}, "a test held until released")
    await harness.push("main")
    workspace = await held(harness.tmp / "data")
    await harness.wait_for(sha, lambda runs: any(r.status == "in_progress" for r in runs))

    await harness.github.uninstall(harness.installation_id)
    uninstalled = len(harness.github.calls)
    # The held test is never released: before its own 120 s are up, only the uninstall can
    # have ended the job.
    deadline = time.monotonic() + 90
    while (jobs := (await _health(harness))["jobs"]).get("running") or jobs.get("queued"):
        assert time.monotonic() < deadline, f"the job did not end: {jobs}\n{harness.logs()[-4000:]}"
        await asyncio.sleep(0.1)
    assert not workspace.exists()  # the run ended and its folder went with it
    # Two whole sweeps: a job retried against a dead installation would show here.
    await until_swept(harness, sweeps=2)

    log = harness.service.log()
    assert "Traceback" not in log, log
    assert f"installation {harness.installation_id} was uninstalled" in log, log[-4000:]
    after = harness.github.calls[uninstalled:]
    assert len(after) <= 3, [(c.method, c.path, c.status) for c in after]

    # Installed again, on a new repository: the service works as before.
    harness.installation_id = await harness.github.install(harness.app, account="octo-org")
    harness.repo = await harness.github.create_repository(
        "octo-org", "again", installation_id=harness.installation_id
    )
    git(harness.work, "rm", "-q", "test_held.py")
    await still_working(harness)


async def test_branch_deleted_before_the_run(harness: Harness) -> None:
    """The push's delivery arrives after the branch is gone: the run still ends clearly."""
    github = harness.github
    github.set_webhook_url(harness.app, f"http://127.0.0.1:{free_port()}/webhook")
    harness.branch("short-lived")
    sha = harness.commit(PASSING, "short-lived")
    await harness.push("short-lived")
    [push] = [d for d in github.deliveries if d.event == "push"][-1:]
    await github.delete_branch(harness.repo, "short-lived")
    github.set_webhook_url(harness.app, f"{harness.service.url}/webhook")

    answer = await github.send_webhook(harness.app, "push", push.payload())
    assert answer.status == 202

    [run] = await harness.completed(sha)
    # The branch is gone, the commit is not: Conveyor asks for the commit itself, as GitHub
    # (and the local GitHub) serve it by its SHA.
    assert run.conclusion == "success", run.output
    harness.branch("main")
    await still_working(harness)


async def test_force_push_supersedes_the_old_commit(harness: Harness) -> None:
    harness.commit(PASSING, "calculator")
    await harness.push("main")
    harness.branch("feature")
    old = harness.commit(SLOW, "slow")
    await harness.push("feature")
    await harness.wait_for(old, lambda runs: any(r.status == "in_progress" for r in runs))

    git(harness.work, "reset", "-q", "--hard", "HEAD~1")
    new = harness.commit({"rewritten.txt": "history rewritten\n"}, "rewritten")
    await harness.github.push(harness.repo, harness.work, "feature", force=True)

    [cancelled] = await harness.completed(old, timeout=30)
    [passed] = await harness.completed(new, timeout=60)
    assert cancelled.conclusion == "cancelled"
    assert cancelled.output.title == f"Superseded by {new[:7]}"
    assert passed.conclusion == "success"
    await still_working(harness)


async def test_repository_that_cannot_be_cloned_fails_with_the_reason(harness: Harness) -> None:
    """Git over HTTP fails for one repository: its run fails saying why, without the token."""
    github = harness.github
    broken = await github.create_repository(
        "octo-org", "broken", installation_id=harness.installation_id
    )
    github.inject_fault("*", r"/octo-org/broken\.git/", 500, times=50)
    sha = harness.commit(PASSING, "calculator")
    await github.push(broken, harness.work, "main")

    [run] = await harness.completed(sha)

    assert run.conclusion == "failure"
    assert run.output.title == "Could not fetch the commit"
    summary = run.output.summary or ""
    assert "500" in summary, summary
    assert github.tokens_issued
    for issued in github.tokens_issued:
        assert issued.token not in summary
        assert issued.token not in harness.service.log()
    await still_working(harness)


# -- a burst of webhooks ---------------------------------------------------------------------------


@pytest.mark.databases("sqlite", "postgresql")
async def test_burst_of_webhooks_answered_in_time_and_each_commit_run_once(
    make_harness: MakeHarness,
) -> None:
    """60 deliveries at once (push and check_suite for 30 new commits): all answered within
    10 s, and each commit gets exactly one check run."""
    harness = await make_harness(workers=1)
    github = harness.github
    harness.commit({**TRIVIAL, "calc.py": "X = 1\n"}, "trivial suite")
    first = await harness.push("main")
    await harness.completed(first)
    await github.wait_idle()  # the first run's check_suite completed is sent before the count

    github.set_webhook_url(harness.app, f"http://127.0.0.1:{free_port()}/webhook")
    seen = len(github.deliveries)
    commits: list[str] = []
    for n in range(30):
        harness.branch(f"burst-{n}")
        commits.append(harness.commit({f"burst_{n}.txt": f"{n}\n"}, f"burst {n}"))
        await harness.push(f"burst-{n}")
    deliveries = [
        d
        for d in github.deliveries[seen:]
        if d.event == "push" or (d.event, d.action) == ("check_suite", "requested")
    ]
    assert len(deliveries) == 60
    github.set_webhook_url(harness.app, f"{harness.service.url}/webhook")

    answers = await asyncio.gather(
        *(github.send_webhook(harness.app, d.event, d.payload()) for d in deliveries)
    )

    # Each answered, and within GitHub's 10 s (the local GitHub's sender gives up then, as
    # GitHub does, and the delivery has no status). How fast: tests/benchmarks/burst.py.
    assert {a.status for a in answers} == {202}, [(a.status, a.error) for a in answers]
    for sha in commits:
        runs = await harness.wait_for(sha, settled, timeout=120)
        assert [(r.name, r.conclusion) for r in runs] == [("tests", "success")]
    # Every delivery acted on and nothing queued or running: a late duplicate would show now.
    await until_processed(harness, [a.delivery_id for a in answers])
    jobs = (await _health(harness))["jobs"]
    assert not jobs.get("queued"), jobs
    assert not jobs.get("running"), jobs
    assert all(len(harness.runs(sha)) == 1 for sha in commits)
    harness.branch("main")
    await still_working(harness)


async def _health(harness: Harness) -> dict[str, dict[str, int]]:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{harness.service.url}/healthz") as response,
    ):
        assert response.status == 200
        data: dict[str, dict[str, int]] = await response.json()
        return data


# -- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 GB tmpfs where the harness puts DATA_DIR: a disk the test can fill, then empty."""
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


async def test_full_disk_fails_the_run_clearly(small_disk: Path, make_harness: MakeHarness) -> None:
    harness = await make_harness()
    harness.commit(PASSING, "calculator")
    await harness.completed(await harness.push("main"))  # environments are now cached

    # Leave half a megabyte: a 4 MB commit no longer fits, nor, soon, the database's writes.
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    with filler.open("wb") as out:
        os.posix_fallocate(out.fileno(), 0, free - 512 * 1024)
    sha = harness.commit({"blob.bin": os.urandom(4 * 1024 * 1024).hex()}, "a big file")
    await harness.push("main")

    [run] = await harness.completed(sha)
    assert run.conclusion == "failure"
    assert run.output.title == "Could not fetch the commit", run.output
    assert "No space left on device" in (run.output.summary or ""), run.output.summary

    filler.unlink()
    git(harness.work, "rm", "-q", "blob.bin")
    await still_working(harness)
