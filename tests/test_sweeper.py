"""app/sweeper.py, in process, on the real queue (SQLite and PostgreSQL) and the local GitHub:
what a sweep sends GitHub again, and what it must never send again (a verdict GitHub refused, a
check run that is gone); the work dead processes left; only the oldest live process announces.

Each sweep is called directly (the loop only waits `interval` between them), so "after two more
sweeps" is two calls, not twenty seconds of waiting."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.intake import Intake
from app.state import State
from app.state.jobs import FINISHED, QUEUED, RUNNING
from app.state.presence import Presence, ProcessRecord
from app.sweeper import Sweeper
from tests.test_reporter import PATCH_RUN, REPORT, World, github_world


@dataclass
class Swept:
    world: World
    state: State
    presence: Presence
    sweeper: Sweeper

    def calls_since(self, seen: int, method: str) -> list[tuple[str, int]]:
        return [(c.path, c.status) for c in self.world.github.calls[seen:] if c.method == method]


@pytest.fixture
async def swept(tmp_path: Path, database_url: str | None) -> AsyncIterator[Swept]:
    """The reporter's world (tests/test_reporter.py) and the sweeper of a serving process, the
    only one alive: the leader."""
    async with github_world(tmp_path, database_url) as world:
        state = State.on(world.queue.db)
        presence = Presence(state.processes, "serve")
        presence.register()
        intake = Intake(app_id="1", state=state, scheduler=world.scheduler, gh=world.reporter.gh)
        sweeper = Sweeper(
            state=state,
            scheduler=world.scheduler,
            intake=intake,
            presence=presence,
            runs_jobs=False,
            job_timeout=3600,
            interval=10,  # never reached: the tests call sweep() themselves
        )
        yield Swept(world, state, presence, sweeper)


async def test_a_verdict_github_was_down_for_is_delivered_by_the_next_sweep(swept: Swept) -> None:
    world = swept.world
    job = await world.finished()
    world.github.inject_fault("PATCH", PATCH_RUN, 502)
    assert not await world.scheduler.deliver(job)

    await swept.sweeper.sweep()

    assert world.patches() == [502, 200]
    run = world.github.check_run(job.check_run_id or 0)
    assert (run.status, run.conclusion) == ("completed", "failure")
    assert world.queue.unreported() == []


async def test_a_verdict_its_worker_is_posting_is_left_to_it(swept: Swept) -> None:
    """Recorded, not yet posted, its worker still at it: a sweep then would post it a second
    time, and GitHub would show every annotation twice."""
    world = swept.world
    job = world.job()
    assert await world.scheduler.announce(job)
    claimed = await world.scheduler.claim(swept.presence.id)
    assert claimed is not None
    world.queue.finish(job.id, REPORT)  # the worker's next step is to post it

    await swept.sweeper.sweep()

    assert world.patches() == []
    assert [j.id for j in world.queue.unreported()] == [job.id]


async def test_a_refused_verdict_is_not_sent_again_by_later_sweeps(swept: Swept) -> None:
    world = swept.world
    job = await world.finished()
    world.github.inject_fault(
        "PATCH", PATCH_RUN, 422, body={"message": "Validation Failed", "errors": ["too big"]}
    )
    assert await world.scheduler.deliver(job)  # the short verdict took its place
    assert world.patches() == [422, 200]
    seen = len(world.github.calls)

    await swept.sweeper.sweep()
    await swept.sweeper.sweep()

    assert swept.calls_since(seen, "PATCH") == []
    run = world.github.check_run(job.check_run_id or 0)
    assert run.output.title == "Failure: see the report on Conveyor"


@pytest.mark.parametrize("status", [404, 410])
async def test_a_check_run_gone_is_not_sent_to_again_by_later_sweeps(
    swept: Swept, status: int
) -> None:
    world = swept.world
    job = await world.finished()
    world.github.inject_fault("PATCH", PATCH_RUN, status, times=1000, body={"message": "Gone"})
    assert not await world.scheduler.deliver(job)
    seen = len(world.github.calls)

    await swept.sweeper.sweep()
    await swept.sweeper.sweep()

    assert swept.calls_since(seen, "PATCH") == []
    assert world.patches() == [status]


async def test_a_check_run_github_would_not_create_is_created_by_a_sweep(swept: Swept) -> None:
    world = swept.world
    job = world.job()
    world.github.inject_fault("POST", r"/check-runs$", 500)
    assert not await world.scheduler.announce(job)
    assert [j.id for j in world.queue.without_check_run()] == [job.id]

    await swept.sweeper.sweep()

    assert world.queue.without_check_run() == []
    announced = world.queue.get(job.id)
    assert announced is not None
    assert announced.check_run_id is not None
    assert world.github.check_run(announced.check_run_id).status == "queued"


async def test_a_process_that_is_not_the_oldest_alive_leaves_github_to_the_leader(
    swept: Swept,
) -> None:
    world = swept.world
    older = ProcessRecord("older-process", "another-machine", 1, "serve", 0.0, time.time())
    swept.state.processes.register(older)
    # Alive for as long as the lease lasts: seen now, by the database's clock.
    assert swept.state.processes.seen(older.id)
    job = world.job()
    world.github.inject_fault("POST", r"/check-runs$", 500)
    assert not await world.scheduler.announce(job)
    seen = len(world.github.calls)

    await swept.sweeper.sweep()

    assert swept.calls_since(seen, "POST") == []
    assert [j.id for j in world.queue.without_check_run()] == [job.id]
    swept.state.processes.forget(older.id)  # it stops: this process leads now
    await swept.sweeper.sweep()
    assert world.queue.without_check_run() == []


async def test_a_running_job_of_a_dead_process_is_queued_again(swept: Swept) -> None:
    world = swept.world
    job = world.job()
    assert await world.scheduler.announce(job)
    dead = ProcessRecord("killed-process", "another-machine", 1, "serve", 0.0, 0.0)
    swept.state.processes.register(dead)  # last seen long ago: its lease is over
    claimed = world.queue.claim(dead.id)
    assert claimed is not None
    assert claimed.state == RUNNING

    await swept.sweeper.sweep()

    again = world.queue.get(job.id)
    assert again is not None
    assert again.state == QUEUED
    assert world.github.check_run(again.check_run_id or 0).output.title == "Queued again"
    assert [r.id for r in swept.state.processes.all()] == [swept.presence.id]  # forgotten


async def test_a_running_job_of_a_process_dead_twice_fails(swept: Swept) -> None:
    world = swept.world
    job = world.job()
    assert await world.scheduler.announce(job)
    for n in range(2):
        dead = ProcessRecord(f"killed-{n}", "another-machine", 1, "serve", 0.0, 0.0)
        swept.state.processes.register(dead)
        assert world.queue.claim(dead.id) is not None
        await swept.sweeper.sweep()

    ended = world.queue.get(job.id)
    assert ended is not None
    assert (ended.state, ended.conclusion) == (FINISHED, "failure")
    run = world.github.check_run(ended.check_run_id or 0)
    assert (run.conclusion, run.output.title) == (
        "failure",
        "Conveyor stopped while running these tests, twice",
    )


async def test_a_job_running_here_in_no_worker_task_is_lost_after_two_sweeps(swept: Swept) -> None:
    """Recorded as this process's, but no worker task runs it (it died after claiming): ended
    as lost, though only when two sweeps in a row see it so, for a worker that has just claimed
    a job learns it from the database a moment before it runs it."""
    world = swept.world
    sweeper = Sweeper(
        state=swept.state,
        scheduler=world.scheduler,
        intake=swept.sweeper.intake,
        presence=swept.presence,
        runs_jobs=True,
        job_timeout=3600,
        interval=10,
    )
    orphan = world.job()
    attended = world.queue.enqueue(orphan.request, "lint").job  # another check of the commit
    assert attended is not None
    for job in (orphan, attended):
        assert await world.scheduler.announce(job)
    assert world.queue.claim(swept.presence.id) is not None  # the orphan: no task has it
    claimed = await world.scheduler.claim(swept.presence.id)  # as a worker task claims
    assert claimed is not None
    assert claimed.job.id == attended.id

    await sweeper.sweep()
    states = [world.queue.get(job.id) for job in (orphan, attended)]
    assert [job.state if job else None for job in states] == [RUNNING, RUNNING]

    await sweeper.sweep()
    ended, running = (world.queue.get(job.id) for job in (orphan, attended))
    assert ended is not None
    assert running is not None
    assert (ended.state, ended.conclusion, running.state) == (FINISHED, "failure", RUNNING)
    run = world.github.check_run(ended.check_run_id or 0)
    assert run.output.title == "Conveyor lost this run"
