"""app/worker.py, in process, on the real queue (SQLite and PostgreSQL), the local GitHub and real
git, with a scripted runner in place of the sandbox (tests/suite/ and tests/e2e/ run the real
one): what a worker does around a run. It fetches the commit and plans it; a `[skip ci]` commit
is reported skipped without running; the runner gets the check, the trust and the tests to
re-run; a cancel stops the run; the verdict and the log reach GitHub and the database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from app.report import junit
from app.report.summary import SuiteOutcome
from app.run_request import RunRequest
from app.state import State
from app.state.jobs import FINISHED, Job
from app.suite.environments import EnvironmentCache
from app.suite.plan import CheckSpec
from app.suite.pythons import discover
from app.suite.runlog import RunLog
from app.suite.runner import Runner
from app.suite.sandbox import Mount
from app.suite.sandbox.supervise import Sandbox
from app.suite.sandbox.values import Setup
from app.worker import WorkerPool, WorkerSettings
from tests.localgithub.helpers import commit
from tests.test_reporter import World, github_world

PASSED = junit.TestResults(
    (junit.TestCase("test_it", "test_it", "passed", 0.01, file="test_it.py"),)
)


@dataclass(frozen=True)
class Ran:
    """What the worker asked of the runner."""

    check: str
    only_tests: tuple[str, ...]
    trusted: bool
    workspace_files: frozenset[str]


@dataclass(frozen=True)
class ScriptedRunner(Runner):
    """Stands in for app.suite.runner.Runner: nothing is installed or run; each run says what it
    was asked, writes a line to the log and returns `results`, or, while `hold` is unset, waits
    for the run's cancel and returns a cancelled outcome."""

    ran: list[Ran] = field(default_factory=list)
    results: junit.TestResults = PASSED
    hold: asyncio.Event | None = None

    async def run(
        self,
        spec: CheckSpec,
        *,
        repository: str,
        workspace: Path,
        artifacts: Path,
        log: RunLog,
        cancel: asyncio.Event | None = None,
        shared: Sequence[Mount] = (),
        only_tests: tuple[str, ...] = (),
        trusted: bool = True,
        secrets: Mapping[str, str] | None = None,
        detected: bool = False,
    ) -> SuiteOutcome:
        files = frozenset(p.name for p in workspace.iterdir() if p.name != ".git")
        self.ran.append(Ran(spec.name, only_tests, trusted, files))
        log.line("the scripted runner ran the tests")
        cancelled = False
        if self.hold is not None and cancel is not None:
            holding = asyncio.ensure_future(self.hold.wait())
            cancelling = asyncio.ensure_future(cancel.wait())
            await asyncio.wait({holding, cancelling}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (holding, cancelling):
                waiter.cancel()
            cancelled = cancel.is_set()
        return SuiteOutcome(
            command=spec.test,
            returncode=0,
            duration=0.01,
            timed_out=False,
            cancelled=cancelled,
            results=None if cancelled else self.results,
            log_tail="",
        )


@dataclass
class Working:
    world: World
    state: State
    runner: ScriptedRunner
    pool: WorkerPool
    work: Path

    def request(self, sha: str, **fields: object) -> RunRequest:
        repo = self.world.repo
        request = RunRequest(
            repo_full_name=repo.full_name,
            repo_id=repo.id,
            installation_id=self.world.installation,
            clone_url=repo.clone_url,
            head_sha=sha,
            fetch_ref="refs/heads/main",
            lane=f"{repo.id}:branch:main",
            reason="push",
            head_branch="main",
        )
        return replace(request, **fields)  # type: ignore[arg-type]

    async def queued(self, sha: str, **fields: object) -> Job:
        """A job of `tests` for the commit, its check run created (as a webhook would)."""
        before = {j.id for j in self.world.queue.unfinished()}
        await self.world.scheduler.add(self.request(sha, **fields), "tests")
        [job] = [j for j in self.world.queue.unfinished() if j.id not in before]
        return job

    async def run(self, job: Job) -> Job:
        """Claimed and run by this worker to the end, as one of its loops would."""
        claimed = await self.world.scheduler.claim("worker-1")
        assert claimed is not None
        assert claimed.job.id == job.id
        await self.pool.run(claimed.job, claimed.cancel)
        ended = self.world.queue.get(job.id)
        assert ended is not None
        return ended

    async def push(self, files: dict[str, str], message: str) -> str:
        sha = await commit(self.work, files, message)
        await self.world.github.push(self.world.repo, self.work)
        return sha


@pytest.fixture
async def working(tmp_path: Path, database_url: str | None) -> AsyncIterator[Working]:
    async with github_world(tmp_path, database_url) as world:
        state = State.on(world.queue.db)
        runner = ScriptedRunner(
            sandbox=Sandbox(Setup("none", "none: a scripted runner runs nothing")),
            interpreters=discover(),
            environments=EnvironmentCache(tmp_path / "data" / "environments"),
            downloads=tmp_path / "data" / "downloads",
        )
        pool = WorkerPool(
            WorkerSettings(data_dir=tmp_path / "data", workers=1, job_timeout=120),
            gh=world.reporter.gh,
            state=state,
            scheduler=world.scheduler,
            reporter=world.reporter,
            runner=runner,
            worker_id="worker-1",
        )
        work = tmp_path / "work"  # where github_world made the first commit
        try:
            yield Working(world, state, runner, pool, work)
        finally:
            await pool.stop()


PASSING = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


async def test_a_job_is_fetched_planned_run_and_its_verdict_reported(working: Working) -> None:
    sha = await working.push(PASSING, "calculator")
    job = await working.queued(sha)

    ended = await working.run(job)

    assert (ended.state, ended.conclusion, ended.reported) == (FINISHED, "success", True)
    [ran] = working.runner.ran
    assert ran == Ran("tests", (), True, frozenset({"calc.py", "test_calc.py", "test_it.py"}))
    run = working.world.github.check_run(ended.check_run_id or 0)
    statuses = [h["status"] for h in run.history]
    assert statuses[0] == "queued"
    assert statuses[-2:] == ["in_progress", "completed"]
    assert (run.conclusion, run.output.title) == ("success", "1 test passed")
    data, _ = working.state.logs.read(job.id)
    log = data.decode()
    assert "the scripted runner ran the tests" in log
    assert f"Fetching {sha}" in log
    # The run's folders go with it: the page needs only the database.
    folder = working.pool.settings.data_dir
    assert list(folder.glob("runs/*")) == []
    assert list(folder.glob("workspaces/*")) == []


@pytest.mark.parametrize("marker", ["[skip ci]", "[ci skip]", "[Skip Conveyor]"])
async def test_a_commit_that_says_skip_is_reported_skipped_and_not_run(
    working: Working, marker: str
) -> None:
    sha = await working.push(PASSING, f"Just docs {marker}")
    job = await working.queued(sha)

    ended = await working.run(job)

    assert working.runner.ran == []
    assert ended.conclusion == "skipped"
    run = working.world.github.check_run(ended.check_run_id or 0)
    assert run.conclusion == "skipped"
    assert run.output.title == f"Skipped: {marker.lower()} in the commit message"


async def test_a_fork_s_job_runs_untrusted_and_a_re_run_gets_its_tests(working: Working) -> None:
    sha = await working.push(PASSING, "calculator")
    fork_job = await working.queued(sha, from_fork=True, reason="pull_request")
    await working.run(fork_job)
    only = ("test_calc.py::test_add",)
    rerun = await working.queued(sha, rerun=True, only_tests=only)
    await working.run(rerun)

    assert [(r.trusted, r.only_tests) for r in working.runner.ran] == [(False, ()), (True, only)]
    # Recorded (through the scheduler), for the re-runs of each to rely on.
    recorded = [working.world.queue.get(job.id) for job in (fork_job, rerun)]
    assert [job.trusted if job else None for job in recorded] == [False, True]


async def test_a_cancel_stops_the_run_and_the_check_says_superseded(working: Working) -> None:
    sha = await working.push(PASSING, "calculator")
    job = await working.queued(sha)
    hold = asyncio.Event()
    working.runner = replace(working.runner, hold=hold)
    working.pool.runner = working.runner
    claimed = await working.world.scheduler.claim("worker-1")
    assert claimed is not None
    running = asyncio.create_task(working.pool.run(claimed.job, claimed.cancel))
    try:
        while not working.runner.ran:  # the run has started: the runner was called
            assert not running.done(), running
            await asyncio.sleep(0.01)
        newer = await working.push({"more.py": "X = 1\n"}, "newer")
        await working.world.scheduler.add(working.request(newer), "tests")
        await asyncio.wait_for(running, 30)
    finally:
        hold.set()
        if not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    ended = working.world.queue.get(job.id)
    assert ended is not None
    assert (ended.state, ended.conclusion) == (FINISHED, "cancelled")
    run = working.world.github.check_run(ended.check_run_id or 0)
    assert (run.conclusion, run.output.title) == ("cancelled", f"Superseded by {newer[:7]}")
    assert newer in (run.output.summary or "")


async def test_at_start_the_folders_of_ended_and_unknown_runs_go_and_the_others_stay(
    working: Working,
) -> None:
    sha = await working.push(PASSING, "calculator")
    ended = await working.run(await working.queued(sha))
    waiting = await working.queued(await working.push({"more.py": "X = 1\n"}, "more"))
    data = working.pool.settings.data_dir
    kept = [data / "runs" / waiting.public_id, data / "workspaces" / str(waiting.id)]
    gone = [
        data / "runs" / ended.public_id,  # a process killed after the verdict left them
        data / "workspaces" / str(ended.id),
        data / "runs" / "no-such-run",
        data / "workspaces" / "12345678",
    ]
    for folder in kept + gone:
        (folder / "deep" / "er").mkdir(parents=True)
        (folder / "deep" / "er" / "output.log").write_text("left behind\n")

    working.pool.start()  # removed before its workers may claim anything

    assert [folder.exists() for folder in kept + gone] == [True, True, False, False, False, False]
