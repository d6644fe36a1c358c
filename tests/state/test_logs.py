"""app/state/logs.py: a run's log read back from any offset, its cap's gap, its attempts."""

from __future__ import annotations

from app.state import State
from app.state.jobs import (
    JobQueue,
)
from app.state.logs import omitted_marker
from tests.state.factories import SHA_A, SHA_B, SHA_C, finish, new_job, request


def test_the_log_is_read_back_from_any_offset(state: State, queue: JobQueue) -> None:
    job = new_job(queue, request())
    assert state.logs.read(job.id) == (b"", 0)
    state.logs.append(job.id, 0, b"first line\n", attempt=0)
    state.logs.append(job.id, 11, b"second\n", attempt=0)
    state.logs.append(job.id, 11, b"second\n", attempt=0)  # shipped twice after a retry: once
    assert state.logs.read(job.id) == (b"first line\nsecond\n", 18)
    assert state.logs.read(job.id, 6) == (b"line\nsecond\n", 18)
    assert state.logs.read(job.id, 11) == (b"second\n", 18)
    assert state.logs.read(job.id, 18) == (b"", 18)
    assert state.logs.read(job.id, 10**20) == (b"", 18)
    other = new_job(queue, request(SHA_B, lane="other"))
    assert state.logs.read(other.id) == (b"", 0)


def test_output_the_cap_dropped_is_one_line_saying_how_much(state: State, queue: JobQueue) -> None:
    job = new_job(queue, request())
    state.logs.append(job.id, 0, b"head 1\nhead 2\n", attempt=0)
    state.logs.append(job.id, 100, b"tail 1\n", attempt=0)
    state.logs.append(job.id, 107, b"tail 2\n", attempt=0)
    # 14 bytes of head, then bytes 14..100 are gone.
    assert state.logs.read(job.id) == (
        b"head 1\nhead 2\n" + omitted_marker(86) + b"tail 1\ntail 2\n",
        114,
    )
    # A page that had the head, and one polling from inside the gap: the same, from there.
    assert state.logs.read(job.id, 14) == (omitted_marker(86) + b"tail 1\ntail 2\n", 114)
    assert state.logs.read(job.id, 50) == (omitted_marker(50) + b"tail 1\ntail 2\n", 114)
    assert state.logs.read(job.id, 107) == (b"tail 2\n", 114)
    # The tail moves on: what it left is trimmed and counted with the gap.
    state.logs.append(job.id, 114, b"tail 3\n", attempt=0)
    state.logs.trim(job.id, 0, 14, 107)
    assert state.logs.read(job.id) == (
        b"head 1\nhead 2\n" + omitted_marker(93) + b"tail 2\ntail 3\n",
        121,
    )
    assert omitted_marker(93) == "… 93 bytes omitted …\n".encode()


def test_each_attempt_has_its_own_log(state: State, queue: JobQueue) -> None:
    job = new_job(queue, request())
    queue.set_check_run(job.id, 1)
    queue.claim("one")
    state.logs.append(job.id, 0, b"attempt 1 line 1\n", attempt=1)
    state.logs.append(job.id, 17, b"attempt 1 line 2\n", attempt=1)
    assert state.logs.read(job.id) == (b"attempt 1 line 1\nattempt 1 line 2\n", 34)
    queue.take(job.id, "one", "sweeper")
    queue.requeue(job.id, "sweeper")
    queue.claim("two")
    assert state.logs.read(job.id) == (b"", 0)  # the second attempt starts with nothing
    state.logs.append(job.id, 0, b"attempt 2\n", attempt=2)
    # The first attempt's process, taken for dead but still going, ships its last chunks late:
    # they are not this attempt's, and never replace its own.
    state.logs.append(job.id, 0, b"attempt 1 line 1\n", attempt=1)
    state.logs.append(job.id, 34, b"attempt 1 line 3\n", attempt=1)
    assert state.logs.read(job.id) == (b"attempt 2\n", 10)
    state.logs.append(job.id, 10, b"more\n", attempt=2)
    assert state.logs.read(job.id) == (b"attempt 2\nmore\n", 15)


def test_logs_of_runs_finished_long_ago_are_forgotten_and_their_verdicts_kept(
    state: State, queue: JobQueue
) -> None:
    old, recent, running = (new_job(queue, request(sha, lane=sha)) for sha in (SHA_A, SHA_B, SHA_C))
    for job in (old, recent, running):
        state.logs.append(job.id, 0, b"log\n", attempt=0)
    finish(queue, old)
    finish(queue, recent)
    queue.db.execute("UPDATE jobs SET finished_at = 1000 WHERE id = ?", (old.id,))
    state.logs.forget_finished_before(finished_before=2000)
    assert state.logs.read(old.id) == (b"", 0)
    assert state.logs.read(recent.id) == (b"log\n", 4)
    assert state.logs.read(running.id) == (b"log\n", 4)
    kept = queue.get(old.id)
    assert kept is not None
    assert kept.conclusion == "success"


def test_binary_log_bytes_survive(state: State, queue: JobQueue) -> None:
    job = new_job(queue, request())
    data = bytes(range(256)) * 4
    state.logs.append(job.id, 0, data, attempt=0)
    assert state.logs.read(job.id) == (data, len(data))
