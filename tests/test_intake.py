"""app/intake.py, in process, on the real queue (SQLite and PostgreSQL) with the deliveries the
local GitHub really sent: which events queue which jobs. A commit announced by a push, its
check suite and its pull request gets one job; a newer commit supersedes the older one's; "Re-run
all checks", "Re-run", "Re-run failed tests" and a `/conveyor run` comment queue the check
again, a comment only from someone the repository trusts. Nothing is run here: the jobs are
finished by hand (tests/test_worker.py runs them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from app.github.client import GitHubClient, RetryPolicy
from app.intake import Intake
from app.localgithub import GitHubApp, LocalGitHub, PullRequest, Repository
from app.report.model import RERUN_ALL, RERUN_FAILED, CheckOutput
from app.reporter import Reporter
from app.scheduler import Scheduler
from app.state import State
from app.state.database import open_database
from app.state.deliveries import Delivery
from app.state.jobs import FINISHED, QUEUED, Job
from tests.localgithub.helpers import WebhookReceiver, commit, git, new_worktree

FAILED = CheckOutput("failure", "2 tests failed", "**2** failed", actions=(RERUN_FAILED, RERUN_ALL))


@dataclass
class Desk:
    github: LocalGitHub
    app: GitHubApp
    installation: int
    repo: Repository
    state: State
    intake: Intake
    scheduler: Scheduler
    work: Path
    seen: set[str] = field(default_factory=set)

    async def deliver(self) -> list[str]:
        """Every delivery the local GitHub sent since the last call, stored and processed as
        the web handler and the intake would; their events, in order."""
        events = []
        for sent in list(self.github.deliveries):
            if sent.delivery_id in self.seen:
                continue
            self.seen.add(sent.delivery_id)
            if not await self.state.db.run(
                self.state.deliveries.record, sent.delivery_id, sent.event, sent.action, sent.body
            ):
                continue  # the same body as an earlier one: the web handler drops it
            await self.intake.process(Delivery(sent.delivery_id, sent.event, sent.body))
            events.append(f"{sent.event} {sent.action or ''}".strip())
        return events

    def jobs(self, sha: str) -> list[Job]:
        return self.state.jobs.jobs_for_commit(self.repo.id, sha)

    async def push(self, files: dict[str, str], branch: str = "main") -> str:
        if branch != "main":
            await git("checkout", "-q", "-B", branch, cwd=self.work)
        sha = await commit(self.work, files, f"change on {branch}")
        await self.github.push(self.repo, self.work, branch)
        return sha

    async def finish(self, job: Job, output: CheckOutput = FAILED) -> Job:
        """As a worker would end it: claimed, finished, the verdict posted (and so are the
        jobs queued before it)."""
        while True:
            claimed = await self.scheduler.claim("a worker")
            assert claimed is not None, f"job {job.id} is not queued"
            await self.scheduler.finish(claimed.job, output, worker="a worker")
            if claimed.job.id == job.id:
                break
        ended = self.state.jobs.get(job.id)
        assert ended is not None
        assert ended.state == FINISHED
        return ended


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    receiver = WebhookReceiver("s3cret")
    await receiver.start()
    github = LocalGitHub(tmp_path / "github")
    await github.start()
    assert github.url is not None
    app = github.register_app("conveyor", webhook_url=receiver.url, webhook_secret="s3cret")
    installation = await github.install(app, account="octo-org")
    repo = await github.create_repository("octo-org", "sample", installation_id=installation)
    work = await new_worktree(tmp_path / "work")
    state = State.on(open_database(database_url, tmp_path / "data"))

    async def no_wait(_: float) -> None:
        return None

    async with aiohttp.ClientSession() as session:
        gh = GitHubClient(
            session,
            api_url=github.url,
            app_id=str(app.id),
            private_key=app.private_key_pem,
            policy=RetryPolicy(attempts=1),
            sleep=no_wait,
        )
        scheduler = Scheduler(state.jobs, Reporter(gh, "http://127.0.0.1:1"))
        intake = Intake(app_id=str(app.id), state=state, scheduler=scheduler, gh=gh)
        desk = Desk(github, app, installation, repo, state, intake, scheduler, work)
        try:
            yield desk
        finally:
            state.close()
            await github.stop()
            await receiver.stop()


async def opened(desk: Desk) -> tuple[str, PullRequest]:
    """main with a commit, a branch `feature` with another, and its pull request: delivered."""
    await desk.push({"test_it.py": "def test_it():\n    pass\n"})
    sha = await desk.push({"more.py": "X = 1\n"}, "feature")
    pull = await desk.github.open_pull_request(desk.repo, head="feature", base="main")
    await desk.deliver()
    return sha, pull


async def test_a_commit_announced_by_push_check_suite_and_pull_request_gets_one_job(
    desk: Desk,
) -> None:
    main = await desk.push({"test_it.py": "def test_it():\n    pass\n"})
    sha = await desk.push({"more.py": "X = 1\n"}, "feature")
    await desk.github.open_pull_request(desk.repo, head="feature", base="main")

    events = await desk.deliver()

    assert {"push", "pull_request opened"} <= set(events)
    for commit_sha in (main, sha):
        [job] = desk.jobs(commit_sha)
        assert (job.state, job.check_name) == (QUEUED, "tests")
        [run] = desk.github.check_runs(head_sha=commit_sha)
        assert (run.id, run.status) == (job.check_run_id, "queued")
    # Run, then the same commit in another pull request, opened and closed: nothing new.
    await desk.finish(desk.jobs(sha)[0])
    again = await desk.github.open_pull_request(desk.repo, head="feature", base="main")
    await desk.github.close_pull_request(again)
    assert {"pull_request opened", "pull_request closed"} <= set(await desk.deliver())
    assert [len(desk.jobs(s)) for s in (main, sha)] == [1, 1]
    assert [len(desk.github.check_runs(head_sha=s)) for s in (main, sha)] == [1, 1]


async def test_a_newer_commit_of_the_pull_request_supersedes_the_queued_one(desk: Desk) -> None:
    old, _ = await opened(desk)
    new = await desk.push({"more.py": "X = 2\n"}, "feature")  # push and synchronize

    await desk.deliver()

    [superseded] = desk.jobs(old)
    assert (superseded.state, superseded.conclusion) == (FINISHED, "cancelled")
    [run] = desk.github.check_runs(head_sha=old)
    assert (run.conclusion, run.output.title) == ("cancelled", f"Superseded by {new[:7]}")
    [job] = desk.jobs(new)
    assert job.state == QUEUED


async def test_re_run_all_checks_queues_the_commit_s_checks_again(desk: Desk) -> None:
    sha, _ = await opened(desk)
    [first] = desk.jobs(sha)
    await desk.finish(first)

    await desk.github.rerequest_check_suite(desk.repo, sha)
    assert "check_suite rerequested" in await desk.deliver()

    [_, again] = desk.jobs(sha)
    assert (again.state, again.check_name) == (QUEUED, "tests")
    assert again.check_run_id not in (None, first.check_run_id)
    assert again.public_id != first.public_id
    runs = desk.github.check_runs(head_sha=sha)
    assert [r.status for r in runs] == ["completed", "queued"]
    assert runs[1].external_id != runs[0].external_id


async def test_re_run_queues_the_same_check_again_as_a_re_run(desk: Desk) -> None:
    sha, _ = await opened(desk)
    [first] = desk.jobs(sha)
    first = await desk.finish(first)

    await desk.github.rerequest_check_run(first.check_run_id or 0)
    assert "check_run rerequested" in await desk.deliver()

    [_, again] = desk.jobs(sha)
    assert again.state == QUEUED
    assert again.check_name == first.check_name
    assert again.rerun_of == first.id
    assert again.request.only_tests == ()
    assert again.request.fetch_ref == first.request.fetch_ref  # fetched where the first was


async def test_re_run_failed_tests_queues_only_the_tests_that_failed(desk: Desk) -> None:
    sha, _ = await opened(desk)
    [first] = desk.jobs(sha)
    failing = ("test_it.py::test_b", "test_it.py::test_c")
    # What the worker keeps of a run's tests: (node id, outcome, seconds).
    results = [("test_it.py::test_a", "passed", 0.1)] + [(name, "failed", 0.1) for name in failing]
    await desk.state.db.run(desk.state.history.record, first, results)
    first = await desk.finish(first)

    await desk.github.request_action(first.check_run_id or 0, "rerun-failed")
    assert "check_run requested_action" in await desk.deliver()

    [_, again] = desk.jobs(sha)
    assert (again.state, again.rerun_of) == (QUEUED, first.id)
    assert sorted(again.request.only_tests) == sorted(failing)


async def test_a_comment_runs_the_checks_again_only_for_those_the_repository_trusts(
    desk: Desk,
) -> None:
    sha, pull = await opened(desk)
    [first] = desk.jobs(sha)
    await desk.finish(first)

    await desk.github.comment(pull, "/conveyor run", author_association="MEMBER")
    assert "issue_comment created" in await desk.deliver()
    [_, again] = desk.jobs(sha)
    assert again.state == QUEUED
    await desk.finish(again)

    await desk.github.comment(pull, "/conveyor run", author_association="NONE")
    await desk.github.comment(pull, "nice work, /conveyor run later?", author_association="OWNER")
    await desk.deliver()
    assert len(desk.jobs(sha)) == 2  # the stranger's and the chatty comment started nothing
