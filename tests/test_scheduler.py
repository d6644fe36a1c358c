"""app/scheduler.py, in process, on the real queue (SQLite and PostgreSQL) and the local GitHub:
each change of a job's state is recorded, then told to GitHub and to the workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.state.jobs import FINISHED, QUEUED, RUNNING
from tests.test_reporter import REPORT, World, github_world


@pytest.fixture
async def world(tmp_path: Path, database_url: str | None) -> AsyncIterator[World]:
    async with github_world(tmp_path, database_url) as made:
        yield made


async def test_an_added_job_gets_its_check_run_and_wakes_the_workers(world: World) -> None:
    request = world.job().request
    assert not world.scheduler.ready.is_set()
    await world.scheduler.add(request, "lint")
    [job] = [j for j in world.queue.unfinished() if j.check_name == "lint"]
    assert job.check_run_id is not None
    assert world.github.check_run(job.check_run_id).status == "queued"
    assert world.scheduler.ready.is_set()
    await world.scheduler.add(request, "lint")  # the commit has this check already
    assert len(world.queue.jobs_for_commit(world.repo.id, world.sha)) == 2


async def test_a_newer_commit_cancels_the_queued_one_and_github_is_told(world: World) -> None:
    older = world.job()
    assert await world.scheduler.announce(older)
    await world.scheduler.add(replace(older.request, head_sha="b" * 40), "tests")
    ended = world.queue.get(older.id)
    assert ended is not None
    assert (ended.state, ended.conclusion, ended.reported) == (FINISHED, "cancelled", True)
    run = world.github.check_run(older.check_run_id or ended.check_run_id or 0)
    assert (run.conclusion, run.output.title) == ("cancelled", "Superseded by bbbbbbb")


async def test_a_job_cancelled_for_another_reason_first_is_not_called_superseded(
    world: World,
) -> None:
    job = world.job()
    assert await world.scheduler.announce(job)
    world.queue.request_cancel(job.id, "stopped by hand")
    world.queue.request_cancel(job.id, "superseded by " + "c" * 40, superseded_by="c" * 40)
    current = world.queue.get(job.id)
    assert current is not None
    await world.scheduler.cancel(current)
    ended = world.queue.get(job.id)
    assert ended is not None
    assert ended.output is not None
    assert (ended.output.title, ended.output.summary) == ("Cancelled", "stopped by hand")


async def test_a_running_job_is_stopped_by_its_worker_not_finished_here(world: World) -> None:
    job = world.job()
    assert await world.scheduler.announce(job)
    claimed = await world.scheduler.claim("me")
    assert claimed is not None
    assert world.scheduler.running_here() == {job.id}
    world.queue.request_cancel(job.id, "stopped by hand")
    await world.scheduler.cancel(job)
    assert claimed.cancel.is_set()
    current = world.queue.get(job.id)
    assert current is not None
    assert current.state == RUNNING  # its worker finishes it, with what the tests said
    await world.scheduler.finish(claimed.job, REPORT, worker="me")
    assert world.scheduler.running_here() == frozenset()
    finished = world.queue.get(job.id)
    assert finished is not None
    assert (finished.state, finished.reported) == (FINISHED, True)
    assert world.github.check_run(job.check_run_id or finished.check_run_id or 0).status == (
        "completed"
    )


async def test_a_verdict_of_a_process_taken_for_dead_is_dropped(world: World) -> None:
    job = world.job()
    assert await world.scheduler.announce(job)
    claimed = await world.scheduler.claim("me")
    assert claimed is not None
    await world.scheduler.take_over(claimed.job, "another", max_attempts=2)
    requeued = world.queue.get(job.id)
    assert requeued is not None
    assert requeued.state == QUEUED
    assert world.github.check_run(requeued.check_run_id or 0).output.title == "Queued again"
    await world.scheduler.finish(claimed.job, REPORT, worker="me")
    after = world.queue.get(job.id)
    assert after is not None
    assert after.state == QUEUED  # the first process's verdict did not end the new attempt


async def test_a_job_taken_over_on_its_last_attempt_fails(world: World) -> None:
    job = world.job()
    assert await world.scheduler.announce(job)
    first = await world.scheduler.claim("me")
    assert first is not None
    await world.scheduler.take_over(first.job, "another", max_attempts=2)
    second = await world.scheduler.claim("another")
    assert second is not None
    await world.scheduler.take_over(second.job, "a third", max_attempts=2)
    ended = world.queue.get(job.id)
    assert ended is not None
    assert (ended.state, ended.conclusion) == (FINISHED, "failure")
    assert ended.output is not None
    assert ended.output.title == "Conveyor stopped while running these tests, twice"


async def test_an_uninstalled_installation_s_jobs_end_without_a_word_to_github(
    world: World,
) -> None:
    job = world.job()
    assert await world.scheduler.announce(job)
    calls = len(world.github.calls)
    assert await world.scheduler.stop_installation(world.installation, "uninstalled") == 1
    ended = world.queue.get(job.id)
    assert ended is not None
    assert (ended.state, ended.conclusion, ended.reported) == (FINISHED, "cancelled", True)
    assert len(world.github.calls) == calls  # GitHub takes nothing more from the app there
    world.scheduler.installation_back(world.installation)
    assert world.installation not in world.reporter.uninstalled


async def test_a_run_s_trust_and_coverage_are_kept_for_later_runs(world: World) -> None:
    job = world.job()
    assert (job.trusted, job.coverage) == (None, None)
    await world.scheduler.trusted(job, False)
    await world.scheduler.covered(job, 87.5)
    kept = world.queue.get(job.id)
    assert kept is not None
    assert (kept.trusted, kept.coverage) == (False, 87.5)
