"""app/reporter.py against the local GitHub: which of GitHub's answers are final, as the
scheduler (app/scheduler.py) records them.

A refused verdict (422) is replaced by a short one once; a check run or repository that is gone
(404, 410) ends reporting; GitHub down (5xx) leaves the verdict for the sweeper; a refused or
impossible create ends the job. On both databases."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from app.github.client import GitHubClient, RetryPolicy
from app.localgithub import LocalGitHub, Repository
from app.report.model import Annotation, CheckOutput
from app.reporter import Reporter
from app.run_request import RunRequest
from app.scheduler import Scheduler
from app.state import State
from app.state.database import open_database
from app.state.jobs import FINISHED, Job, JobQueue
from tests.localgithub.helpers import commit, new_worktree

PATCH_RUN = r"/check-runs/\d+$"
PUBLIC = "https://ci.example.com"
REPORT = CheckOutput(
    "failure",
    "1 test failed",
    "**1** failed",
    "the log",
    (Annotation("test_it.py", 1, 1, "failure", "assert 1 == 2"),),
)


@dataclass
class World:
    github: LocalGitHub
    repo: Repository
    installation: int
    sha: str
    queue: JobQueue
    reporter: Reporter
    scheduler: Scheduler

    def job(self, sha: str | None = None) -> Job:
        request = RunRequest(
            repo_full_name=self.repo.full_name,
            repo_id=self.repo.id,
            installation_id=self.installation,
            clone_url="http://127.0.0.1:1/octo-org/sample.git",
            head_sha=sha or self.sha,
            fetch_ref="refs/heads/main",
            lane=f"{self.repo.id}:branch:main",
            reason="push",
        )
        job = self.queue.enqueue(request, "tests").job
        assert job is not None
        return job

    async def finished(self, output: CheckOutput = REPORT) -> Job:
        """A job whose check run exists and whose verdict is recorded, not yet posted."""
        job = self.job()
        assert await self.scheduler.announce(job)
        return self.queue.finish(job.id, output)

    def patches(self) -> list[int]:
        return [c.status for c in self.github.calls if c.method == "PATCH"]


@contextlib.asynccontextmanager
async def github_world(tmp_path: Path, database_url: str | None) -> AsyncIterator[World]:
    """A repository with one commit on the local GitHub, the app installed, a queue on the
    database, and the reporter and scheduler the service would have."""
    github = LocalGitHub(tmp_path / "github")
    await github.start()
    assert github.url is not None
    app = github.register_app("conveyor")
    installation = await github.install(app, account="octo-org")
    repo = await github.create_repository("octo-org", "sample", installation_id=installation)
    work = await new_worktree(tmp_path / "work")
    sha = await commit(work, {"test_it.py": "def test_it():\n    assert 1 == 2\n"}, "Initial")
    await github.push(repo, work)
    state = State.on(open_database(database_url, tmp_path / "data"))
    queue = state.jobs

    async def no_wait(_: float) -> None:
        return None

    async with aiohttp.ClientSession() as session:
        gh = GitHubClient(
            session,
            api_url=github.url,
            app_id=str(app.id),
            private_key=app.private_key_pem,
            # One try a call: what the sweeper does next is what is tested.
            policy=RetryPolicy(attempts=1),
            sleep=no_wait,
        )
        reporter = Reporter(gh, PUBLIC)
        yield World(github, repo, installation, sha, queue, reporter, Scheduler(queue, reporter))
    state.close()
    await github.stop()


@pytest.fixture
async def world(tmp_path: Path, database_url: str | None) -> AsyncIterator[World]:
    async with github_world(tmp_path, database_url) as made:
        yield made


def reported(world: World, job: Job) -> bool:
    current = world.queue.get(job.id)
    assert current is not None
    return current.reported


async def test_a_verdict_github_accepts_is_posted_whole(world: World) -> None:
    job = await world.finished()
    assert await world.scheduler.deliver(job)
    run = world.github.check_run(job.check_run_id or 0)
    assert (run.status, run.conclusion, run.output.title) == ("completed", "failure", REPORT.title)
    assert reported(world, job)


async def test_a_refused_verdict_is_replaced_by_a_short_one_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    job = await world.finished()
    world.github.inject_fault(
        "PATCH", PATCH_RUN, 422, body={"message": "Validation Failed", "errors": ["too big"]}
    )
    with caplog.at_level(logging.WARNING, logger="app.reporter"):
        assert await world.scheduler.deliver(job)

    run = world.github.check_run(job.check_run_id or 0)
    assert (run.status, run.conclusion) == ("completed", "failure")  # the same verdict
    assert run.output.title == "Failure: see the report on Conveyor"
    assert f"{PUBLIC}/runs/{job.public_id}" in (run.output.summary or "")
    assert not run.output.text
    assert not run.annotations
    [short] = [c for c in world.github.calls if c.method == "PATCH" and c.status == 200]
    assert set(short.request_json["output"]) == {"title", "summary"}
    assert "actions" not in short.request_json
    assert reported(world, job)
    assert world.queue.unreported() == []  # the sweeper has nothing left to send
    [warning] = [r.getMessage() for r in caplog.records]
    assert f"job {job.id}: GitHub refused its verdict" in warning
    assert "not retried" in warning


async def test_a_refused_verdict_whose_short_one_fails_too_is_given_up(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    job = await world.finished()
    world.github.inject_fault("PATCH", PATCH_RUN, 422, body={"message": "Validation Failed"})
    world.github.inject_fault("PATCH", PATCH_RUN, 503)
    with caplog.at_level(logging.WARNING, logger="app.reporter"):
        assert not await world.scheduler.deliver(job)
    assert world.patches() == [422, 503]
    assert reported(world, job)
    [warning] = [r.getMessage() for r in caplog.records]
    assert "the short verdict failed too" in warning


@pytest.mark.parametrize("status", [404, 410])
async def test_a_check_run_that_is_gone_ends_reporting(world: World, status: int) -> None:
    job = await world.finished()
    world.github.inject_fault("PATCH", PATCH_RUN, status, body={"message": "Not Found"})
    assert not await world.scheduler.deliver(job)
    assert world.patches() == [status]
    assert reported(world, job)
    assert world.queue.unreported() == []


async def test_github_down_leaves_the_verdict_for_the_sweeper(world: World) -> None:
    job = await world.finished()
    world.github.inject_fault("PATCH", PATCH_RUN, 502)
    assert not await world.scheduler.deliver(job)
    assert not reported(world, job)
    [again] = world.queue.unreported()
    assert await world.scheduler.deliver(again)
    assert world.patches() == [502, 200]
    assert reported(world, job)


async def test_a_check_run_gone_when_marked_in_progress_gets_no_verdict(world: World) -> None:
    job = world.job()
    assert await world.scheduler.announce(job)
    job = world.queue.get(job.id) or job
    world.github.inject_fault("PATCH", PATCH_RUN, 404, body={"message": "Not Found"})
    await world.reporter.started(job)
    finished = world.queue.finish(job.id, REPORT)
    assert not await world.scheduler.deliver(finished)
    assert world.patches() == [404]  # nothing more was sent to it
    assert reported(world, job)


async def test_a_create_github_refuses_ends_the_job_unrun(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A commit GitHub does not have (gone after a force-push) gets 422 on every create: the
    job ends instead of being announced every sweep for ever."""
    job = world.job("f" * 40)
    with caplog.at_level(logging.WARNING, logger="app.reporter"):
        assert not await world.scheduler.announce(job)
    [post] = [c for c in world.github.calls if c.method == "POST" and "check-runs" in c.path]
    assert post.status == 422
    ended = world.queue.get(job.id)
    assert ended is not None
    assert (ended.state, ended.reported, ended.check_run_id) == (FINISHED, True, None)
    assert world.queue.without_check_run() == []
    assert world.queue.claim() is None
    [warning] = [r.getMessage() for r in caplog.records]
    assert "not run: GitHub refused to create it" in warning


async def test_a_create_for_a_repository_gone_ends_the_job(world: World) -> None:
    job = world.job()
    world.github.inject_fault("POST", r"/check-runs$", 404, body={"message": "Not Found"})
    assert not await world.scheduler.announce(job)
    assert world.queue.without_check_run() == []


async def test_a_create_while_github_is_down_is_tried_again(world: World) -> None:
    job = world.job()
    world.github.inject_fault("POST", r"/check-runs$", 500)
    assert not await world.scheduler.announce(job)
    [again] = world.queue.without_check_run()
    assert await world.scheduler.announce(again)
    assert world.queue.without_check_run() == []
