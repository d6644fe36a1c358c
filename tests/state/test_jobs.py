"""app/state/jobs.py on a real SQLite file and a real PostgreSQL: dedupe, supersede, claim,
restart."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.report.model import CheckOutput, Conclusion
from app.state import State
from app.state.database import Database, open_database
from app.state.jobs import (
    FINISHED,
    INTERRUPTED_KILLED,
    INTERRUPTED_STOPPED,
    QUEUED,
    RUNNING,
    Job,
    JobQueue,
)
from tests.state.factories import CHECK, SHA_A, SHA_B, SHA_C, finish, new_job, request


def test_enqueue_stores_every_field_of_the_request(queue: JobQueue) -> None:
    req = request(
        reason="pull_request.opened",
        pull_number=7,
        from_fork=True,
        commit_message="Fix it",
        fetch_ref="refs/pull/7/head",
        lane="186853002:pull:7",
    )
    enqueued = queue.enqueue(req, CHECK, rerun_of=None)
    job = enqueued.job
    assert job is not None
    assert enqueued.superseded == ()
    assert (
        job.request.repo_full_name,
        job.request.repo_id,
        job.request.installation_id,
        job.request.clone_url,
    ) == (
        "octo/hello",
        186853002,
        31,
        "https://github.com/octo/hello.git",
    )
    assert (job.request.head_sha, job.request.fetch_ref, job.request.lane, job.check_name) == (
        SHA_A,
        "refs/pull/7/head",
        "186853002:pull:7",
        "tests",
    )
    assert (
        job.request.reason,
        job.request.head_branch,
        job.request.pull_number,
        job.request.from_fork,
    ) == (
        "pull_request.opened",
        "main",
        7,
        True,
    )
    assert job.request.commit_message == "Fix it"
    assert (job.state, job.cancel_reason, job.check_run_id, job.conclusion) == (
        QUEUED,
        None,
        None,
        None,
    )
    assert (job.output, job.reported, job.attempts, job.rerun_of) == (None, False, 0, None)
    assert job.started_at is None
    assert job.finished_at is None
    assert job.created_at > 0
    assert job.external_id == str(job.id)
    assert len(job.public_id) >= 32
    assert queue.get(job.id) == job
    assert queue.by_public_id(job.public_id) == job
    assert queue.get(job.id + 1000) is None
    assert queue.by_public_id("nope") is None


@pytest.mark.parametrize("private", [True, False, None])
def test_whether_the_repository_is_private_is_kept_as_github_said(
    queue: JobQueue, private: bool | None
) -> None:
    job = new_job(queue, request(private=private, author="octocat" if private else None))
    stored = queue.get(job.id)
    assert stored is not None
    assert stored.request.private is private
    assert stored.request.author == ("octocat" if private else None)


def test_one_job_per_repo_sha_and_check_across_events(queue: JobQueue) -> None:
    first = queue.enqueue(request(reason="push"), CHECK)
    assert first.job is not None
    for reason in ("check_suite.requested", "pull_request.opened", "pull_request.synchronize"):
        again = queue.enqueue(request(reason=reason), CHECK)
        assert again.job is None
        assert again.superseded == ()
    assert [j.id for j in queue.in_state(QUEUED)] == [first.job.id]
    assert queue.counts() == {QUEUED: 1}


def test_a_finished_commit_is_not_run_again_by_a_late_event(queue: JobQueue) -> None:
    job = new_job(queue, request())
    finish(queue, job)
    assert queue.enqueue(request(reason="check_suite.requested"), CHECK).job is None
    assert queue.counts() == {FINISHED: 1}


def test_another_check_another_repo_or_another_sha_is_another_job(queue: JobQueue) -> None:
    base = new_job(queue, request())
    other_check = new_job(queue, request(), check="lint")
    other_repo = new_job(queue, request(repo_id=1, repo_full_name="x/y", lane="1:branch:main"))
    other_sha = new_job(queue, request(SHA_B, lane="186853002:branch:feature"))
    assert len({base.id, other_check.id, other_repo.id, other_sha.id}) == 4
    assert len({j.public_id for j in (base, other_check, other_repo, other_sha)}) == 4


def test_a_rerun_of_a_finished_job_makes_a_new_job(queue: JobQueue) -> None:
    old = new_job(queue, request())
    finish(queue, old, "failure")
    rerun = queue.enqueue(
        request(reason="check_run.rerequested", rerun=True), CHECK, rerun_of=old.id
    )
    assert rerun.job is not None
    assert rerun.job.id != old.id
    assert (rerun.job.state, rerun.job.rerun_of, rerun.job.request.reason) == (
        QUEUED,
        old.id,
        "check_run.rerequested",
    )
    assert rerun.superseded == ()


@pytest.mark.parametrize("job_state", [QUEUED, RUNNING])
def test_no_rerun_while_a_job_for_the_commit_is_active(queue: JobQueue, job_state: str) -> None:
    job = new_job(queue, request())
    if job_state == RUNNING:
        queue.set_check_run(job.id, 99)
        claimed = queue.claim()
        assert claimed is not None
        assert claimed.state == RUNNING
    again = queue.enqueue(request(rerun=True), CHECK, rerun_of=job.id)
    assert again.job is None
    assert again.superseded == ()
    assert sum(queue.counts().values()) == 1


def test_a_second_rerun_waits_for_the_first(queue: JobQueue) -> None:
    job = new_job(queue, request())
    finish(queue, job)
    first = queue.enqueue(request(rerun=True), CHECK, rerun_of=job.id).job
    assert first is not None
    assert queue.enqueue(request(rerun=True), CHECK, rerun_of=job.id).job is None
    finish(queue, first)
    assert queue.enqueue(request(rerun=True), CHECK, rerun_of=first.id).job is not None


# -- superseding -------------------------------------------------------------------------------


def test_a_newer_sha_supersedes_queued_and_running_jobs_of_the_lane(queue: JobQueue) -> None:
    running = new_job(queue, request(SHA_A))
    queue.set_check_run(running.id, 1)
    assert queue.claim() is not None
    queued = new_job(queue, request(SHA_B))  # supersedes SHA_A
    after_b = queue.get(running.id)
    assert after_b is not None
    assert (after_b.cancel_reason, after_b.superseded_by) == (f"superseded by {SHA_B}", SHA_B)
    newest = queue.enqueue(request(SHA_C), CHECK)
    assert newest.job is not None
    assert newest.job.request.head_sha == SHA_C
    superseded = {j.id: j for j in newest.superseded}
    # The running job was superseded by B already: it keeps that reason and is not returned
    # again (it is being cancelled).
    assert set(superseded) == {queued.id}
    assert superseded[queued.id].cancel_reason == f"superseded by {SHA_C}"
    assert superseded[queued.id].state == QUEUED
    still_running = queue.get(running.id)
    assert still_running is not None
    assert still_running.state == RUNNING
    assert still_running.cancel_reason == f"superseded by {SHA_B}"
    assert still_running.superseded_by == SHA_B  # the first reason stays, with its commit
    # and the state agrees with what was returned
    stored = queue.get(queued.id)
    assert stored is not None
    assert stored.cancel_reason == f"superseded by {SHA_C}"
    assert newest.job.cancel_reason is None


def test_superseding_returns_the_jobs_with_their_new_reason(queue: JobQueue) -> None:
    older = new_job(queue, request(SHA_A))
    newer = queue.enqueue(request(SHA_B), CHECK)
    assert [(j.id, j.cancel_reason) for j in newer.superseded] == [
        (older.id, f"superseded by {SHA_B}")
    ]
    assert [j.id for j in queue.cancelled_while_queued()] == [older.id]


def test_finished_jobs_other_lanes_and_other_checks_are_not_superseded(queue: JobQueue) -> None:
    done = new_job(queue, request(SHA_A))
    finish(queue, done)
    other_lane = new_job(queue, request(SHA_B, lane="186853002:branch:other"))
    other_check = new_job(queue, request(SHA_B), check="lint")
    newest = queue.enqueue(request(SHA_C), CHECK)
    assert newest.job is not None
    assert newest.superseded == ()
    for job in (done, other_lane, other_check):
        current = queue.get(job.id)
        assert current is not None
        assert current.cancel_reason is None


def test_the_same_sha_again_supersedes_nothing(queue: JobQueue) -> None:
    new_job(queue, request(SHA_A, lane="1:pull:2"))
    again = queue.enqueue(request(SHA_A, lane="1:pull:2", reason="check_suite.requested"), CHECK)
    assert again == type(again)(None, ())


def test_a_commit_pushed_again_after_being_superseded_runs_again(queue: JobQueue) -> None:
    first_a = new_job(queue, request(SHA_A))
    new_job(queue, request(SHA_B))
    # The service cancels the superseded job: it is finished with its reason kept.
    finish(queue, queue.get(first_a.id) or first_a, "cancelled")
    back_to_a = queue.enqueue(request(SHA_A), CHECK)  # e.g. a force-push back to A
    assert back_to_a.job is not None
    assert back_to_a.job.id != first_a.id


def test_rerunning_an_old_commit_does_not_cancel_the_newer_one(queue: JobQueue) -> None:
    old = new_job(queue, request(SHA_A))
    finish(queue, old, "failure")
    head = new_job(queue, request(SHA_B))
    queue.set_check_run(head.id, 2)
    assert queue.claim() is not None
    rerun = queue.enqueue(request(SHA_A, rerun=True), CHECK, rerun_of=old.id)
    assert rerun.job is not None
    assert rerun.superseded == ()
    current = queue.get(head.id)
    assert current is not None
    assert current.cancel_reason is None


def test_a_late_event_for_a_superseded_commit_does_not_cancel_the_head(queue: JobQueue) -> None:
    # push A, push B (A superseded and cancelled), then GitHub's check_suite for A arrives late.
    first_a = new_job(queue, request(SHA_A, reason="push"))
    head = new_job(queue, request(SHA_B, reason="push"))
    cancelled = queue.get(first_a.id)
    assert cancelled is not None
    assert cancelled.cancel_reason == f"superseded by {SHA_B}"
    finish(queue, cancelled, "cancelled")
    queue.set_check_run(head.id, 2)
    assert queue.claim() is not None
    late = queue.enqueue(request(SHA_A, reason="check_suite.requested", moves_head=False), CHECK)
    assert late.superseded == ()
    current = queue.get(head.id)
    assert current is not None
    assert current.cancel_reason is None


# -- claim, finish, report ---------------------------------------------------------------------


def test_claim_takes_only_jobs_with_a_check_run_oldest_first(queue: JobQueue) -> None:
    first = new_job(queue, request(SHA_A, lane="l1"))
    second = new_job(queue, request(SHA_B, lane="l2"))
    third = new_job(queue, request(SHA_C, lane="l3"))
    assert queue.claim() is None  # no check run yet: nowhere to report
    queue.set_check_run(third.id, 303)
    queue.set_check_run(second.id, 202)
    claimed = queue.claim()
    assert claimed is not None
    assert (claimed.id, claimed.state, claimed.attempts, claimed.check_run_id) == (
        second.id,
        RUNNING,
        1,
        202,
    )
    assert claimed.started_at is not None
    claimed_next = queue.claim()
    assert claimed_next is not None
    assert claimed_next.id == third.id
    assert queue.claim() is None
    assert [j.id for j in queue.without_check_run()] == [first.id]
    assert queue.counts() == {QUEUED: 1, RUNNING: 2}


def test_claim_skips_a_job_cancelled_while_queued(queue: JobQueue) -> None:
    older = new_job(queue, request(SHA_A))
    queue.set_check_run(older.id, 1)
    newer = new_job(queue, request(SHA_B))
    queue.set_check_run(newer.id, 2)
    claimed = queue.claim()
    assert claimed is not None
    assert claimed.id == newer.id


def test_request_cancel_keeps_the_first_reason(queue: JobQueue) -> None:
    job = new_job(queue, request())
    queue.request_cancel(job.id, "cancelled by a person")
    queue.request_cancel(job.id, "second reason")
    current = queue.get(job.id)
    assert current is not None
    assert current.cancel_reason == "cancelled by a person"


def test_finish_records_the_verdict_until_it_is_reported(queue: JobQueue) -> None:
    job = new_job(queue, request())
    queue.set_check_run(job.id, 77)
    assert queue.claim() is not None
    output = CheckOutput("failure", "1 test failed", "**0** passed")
    finished = queue.finish(job.id, output)
    assert finished.output == output
    assert (finished.state, finished.conclusion, finished.reported) == (
        FINISHED,
        "failure",
        False,
    )
    assert finished.finished_at is not None
    assert [j.id for j in queue.unreported()] == [job.id]
    queue.mark_reported(job.id)
    assert queue.unreported() == []
    marked = queue.get(job.id)
    assert marked is not None
    assert marked.reported is True
    assert queue.latest_for_check_run(186853002, 77) == marked
    assert queue.latest_for_check_run(186853002, 78) is None


def test_a_job_without_check_run_is_never_in_unreported(queue: JobQueue) -> None:
    job = new_job(queue, request())
    finish(queue, job)
    assert queue.unreported() == []
    assert queue.without_check_run() == []  # finished ones are not waiting for a check run


def test_requeue_puts_a_running_job_back_and_claim_counts_the_attempt(queue: JobQueue) -> None:
    job = new_job(queue, request())
    queue.set_check_run(job.id, 5)
    assert queue.claim() is not None
    queue.requeue(job.id)
    back = queue.get(job.id)
    assert back is not None
    assert (back.state, back.started_at, back.attempts) == (QUEUED, None, 1)
    again = queue.claim()
    assert again is not None
    assert again.id == job.id
    assert again.attempts == 2


def test_requeue_leaves_finished_jobs_alone(queue: JobQueue) -> None:
    job = new_job(queue, request())
    finish(queue, job)
    queue.requeue(job.id)
    current = queue.get(job.id)
    assert current is not None
    assert current.state == FINISHED


def test_latest_for_check_run_is_the_newest_job_of_that_run(queue: JobQueue) -> None:
    first = new_job(queue, request())
    queue.set_check_run(first.id, 9)
    finish(queue, first)
    second = queue.enqueue(request(rerun=True), CHECK, rerun_of=first.id).job
    assert second is not None
    queue.set_check_run(second.id, 9)
    latest = queue.latest_for_check_run(186853002, 9)
    assert latest is not None
    assert latest.id == second.id


# -- deliveries and installations --------------------------------------------------------------


def test_state_survives_closing_and_reopening_the_store(open_db: Callable[[], Database]) -> None:
    state = State.on(open_db())
    queue = state.jobs
    running = new_job(queue, request(SHA_A, lane="l1"))
    queue.set_check_run(running.id, 11)
    assert queue.claim() is not None
    waiting = new_job(queue, request(SHA_B, lane="l2"))
    done = new_job(queue, request(SHA_C, lane="l3"))
    queue.set_check_run(done.id, 33)
    finish(queue, done, "failure")
    state.deliveries.record("guid-1", "push", None, b"{}")
    state.installations.record(5, "octo", active=True, added=["octo/a"])
    state.close()
    with pytest.raises(Exception, match="closed"):
        queue.get(running.id)

    reopened = State.on(open_db())
    try:
        again = reopened.jobs
        assert [j.id for j in again.in_state(RUNNING)] == [running.id]
        assert [j.id for j in again.in_state(QUEUED)] == [waiting.id]
        assert [j.id for j in again.unreported()] == [done.id]
        restored = again.get(done.id)
        assert restored is not None
        assert restored.output == CheckOutput("failure", "t", "s")
        assert reopened.deliveries.record("guid-1", "push", None, b"{}") is False
        assert reopened.installations.get(5) == ("octo", True, ["octo/a"])
        # Dedupe still holds after the restart, and ids keep growing.
        assert again.enqueue(request(SHA_B, lane="l2"), CHECK).job is None
        fresh = new_job(again, request("d" * 40, lane="l4"))
        assert fresh.id > done.id
    finally:
        reopened.close()


def test_the_store_uses_wal_and_creates_its_folder(db_path: Path) -> None:
    assert not db_path.parent.exists()
    state = State.on(open_database(None, db_path.parent))
    try:
        assert db_path.parent.is_dir()
        mode = state.db.execute("PRAGMA journal_mode").fetchone()
        assert mode == {"journal_mode": "wal"}
    finally:
        state.close()


def test_a_second_connection_sees_committed_jobs(open_db: Callable[[], Database]) -> None:
    writer, reader = State.on(open_db()), State.on(open_db())
    try:
        job = new_job(writer.jobs, request())
        seen = reader.jobs.get(job.id)
        assert seen is not None
        assert seen.request.head_sha == SHA_A
    finally:
        writer.close()
        reader.close()


# -- several processes: the queue shared over connections ---------------------------------------


def test_concurrent_claims_from_separate_connections_take_each_job_once(
    open_db: Callable[[], Database],
) -> None:
    setup = State.on(open_db())
    queue = setup.jobs
    made = [new_job(queue, request(f"{n:040x}", lane=f"l{n}")) for n in range(40)]
    for job in made:
        queue.set_check_run(job.id, job.id)
    claimers = [State.on(open_db()).jobs for _ in range(4)]
    taken: list[list[int]] = [[] for _ in claimers]
    start = threading.Barrier(len(claimers))

    def drain(index: int) -> None:
        start.wait()
        while (job := claimers[index].claim(f"worker-{index}")) is not None:
            taken[index].append(job.id)

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(len(claimers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = sorted(job_id for ids in taken for job_id in ids)
    assert every == sorted(job.id for job in made)
    for index, ids in enumerate(taken):
        assert all(queue.get(job_id).worker == f"worker-{index}" for job_id in ids)  # type: ignore[union-attr]
    for claimer in claimers:
        claimer.db.close()
    setup.close()


def test_the_same_commit_announced_to_several_web_processes_at_once_gets_one_job(
    open_db: Callable[[], Database],
) -> None:
    queues = [State.on(open_db()).jobs for _ in range(4)]
    start = threading.Barrier(len(queues))
    results: list[Job | None] = [None] * len(queues)

    def enqueue(index: int) -> None:
        start.wait()
        results[index] = queues[index].enqueue(request(SHA_A, reason=f"event-{index}"), CHECK).job

    threads = [threading.Thread(target=enqueue, args=(n,)) for n in range(len(queues))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([job for job in results if job is not None]) == 1
    assert len(queues[0].jobs_for_commit(186853002, SHA_A)) == 1
    for each in queues:
        each.db.close()


def test_a_running_job_is_taken_over_by_one_process_only(queue: JobQueue) -> None:
    job = new_job(queue, request())
    queue.set_check_run(job.id, 1)
    assert queue.claim("dead") is not None
    assert [j.id for j in queue.running_on("dead")] == [job.id]
    assert queue.running_on("alive") == []
    # "dead" has no row in `processes`: it stopped, so its job is an orphan.
    assert [j.id for j in queue.orphaned_running([])] == [job.id]
    assert queue.take(job.id, "dead", "first") is True
    assert queue.take(job.id, "dead", "second") is False
    assert queue.requeue(job.id, "second") is False  # not its job
    assert queue.requeue(job.id, "first") is True
    again = queue.get(job.id)
    assert again is not None
    assert (again.state, again.worker) == (QUEUED, None)
    # Its next attempt says why the first one ended.
    assert again.interrupted == INTERRUPTED_KILLED
    second = queue.claim("second")
    assert second is not None
    assert second.earlier_attempts == (
        f"Attempt 2: the first attempt stopped when {INTERRUPTED_KILLED}; "
        "what is shown here is this attempt's alone."
    )


def test_a_job_stopped_with_the_service_says_so_at_its_next_attempt(queue: JobQueue) -> None:
    job = new_job(queue, request())
    queue.set_check_run(job.id, 1)
    first = queue.claim("one")
    assert first is not None
    assert first.earlier_attempts is None
    assert queue.requeue(job.id, "one", why=INTERRUPTED_STOPPED) is True
    queue.claim("two")
    assert queue.requeue(job.id, "two", why=INTERRUPTED_STOPPED) is True
    third = queue.claim("three")
    assert third is not None
    assert third.earlier_attempts is not None
    assert third.earlier_attempts.startswith(
        f"Attempt 3: attempt 2 stopped when {INTERRUPTED_STOPPED};"
    )


def test_jobs_claimed_before_workers_were_recorded_count_as_nobodys(queue: JobQueue) -> None:
    job = new_job(queue, request())
    queue.set_check_run(job.id, 1)
    assert queue.claim() is not None
    assert [j.id for j in queue.orphaned_running([])] == [job.id]
    assert queue.take(job.id, None, "me") is True


def test_a_cancel_asked_for_elsewhere_is_seen_by_the_worker(queue: JobQueue) -> None:
    one, two = new_job(queue, request(SHA_A, lane="l1")), new_job(queue, request(SHA_B, lane="l2"))
    assert queue.cancel_requested([]) == []
    queue.request_cancel(two.id, "superseded by c")
    assert queue.cancel_requested([one.id, two.id]) == [two.id]


def test_only_one_announce_of_a_job_at_a_time(queue: JobQueue) -> None:
    job = new_job(queue, request())
    assert queue.begin_announce(job.id, stale_after=300) is True
    assert queue.begin_announce(job.id, stale_after=300) is False
    queue.end_announce(job.id, None)  # GitHub refused: the next sweep tries again
    assert queue.begin_announce(job.id, stale_after=300) is True
    # An announce whose process died is tried again once it is stale.
    assert queue.begin_announce(job.id, stale_after=-1) is True
    queue.end_announce(job.id, 4321)
    announced = queue.get(job.id)
    assert announced is not None
    assert (announced.check_run_id, announced.announcing_since) == (4321, None)
    assert queue.begin_announce(job.id, stale_after=-1) is False  # it has its check run


def test_conclusions_and_durations_for_the_metrics(queue: JobQueue) -> None:
    assert queue.conclusions() == {}
    assert queue.durations((1.0, 10.0)) == (0, 0.0, [0, 0])
    conclusions: tuple[Conclusion, ...] = ("success", "failure", "success")
    for n, conclusion in enumerate(conclusions):
        job = new_job(queue, request(f"{n:040x}", lane=f"l{n}"))
        queue.set_check_run(job.id, n + 1)
        claimed = queue.claim()
        assert claimed is not None
        finish(queue, claimed, conclusion)
    assert queue.conclusions() == {"success": 2, "failure": 1}
    count, total, cumulative = queue.durations((1.0, 10.0))
    assert (count, cumulative) == (3, [3, 3])
    assert 0.0 <= total < 3.0
