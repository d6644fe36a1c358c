"""app/state/test_history.py on a real SQLite file and a real PostgreSQL: each test's outcome
kept per job, and what "still failing", "failed earlier" and "flaky" are read from."""

from __future__ import annotations

from app.state import State
from app.state.jobs import Job
from tests.state.factories import SHA_A, SHA_B, SHA_C, finish, new_job, request


def rerun(state: State, old: Job) -> Job:
    """Another job on the same commit, as "Re-run" makes once the first has finished."""
    finish(state.jobs, old, "failure")
    job = state.jobs.enqueue(
        request(old.request.head_sha, reason="check_run.rerequested", rerun=True),
        old.check_name,
        rerun_of=old.id,
    ).job
    assert job is not None
    return job


def test_a_jobs_outcomes_are_kept_by_test(state: State) -> None:
    job = new_job(state.jobs, request())
    state.history.record(job, [("t.py::test_a", "passed", 0.5), ("t.py::test_b", "failed", 1.25)])
    assert state.history.outcomes(job.id) == {"t.py::test_a": "passed", "t.py::test_b": "failed"}
    assert state.history.outcomes(job.id + 1) == {}


def test_recording_a_job_again_replaces_its_outcomes(state: State) -> None:
    job = new_job(state.jobs, request())
    state.history.record(job, [("t.py::test_a", "failed", 0.1), ("t.py::test_b", "passed", 0.1)])
    state.history.record(job, [("t.py::test_a", "passed", 0.1)])
    assert state.history.outcomes(job.id) == {"t.py::test_a": "passed"}
    assert state.history.failing_tests(job.id) == ()


def test_failing_tests_are_the_failed_and_errored_ones_in_the_order_they_ran(
    state: State,
) -> None:
    job = new_job(state.jobs, request())
    other = new_job(state.jobs, request(SHA_B, lane="186853002:branch:other"))
    state.history.record(
        job,
        [
            ("t.py::test_z", "failed", 0.1),
            ("t.py::test_ok", "passed", 0.1),
            ("t.py::test_a", "error", 0.1),
            ("t.py::test_skip", "skipped", 0.0),
            ("t.py::test_m", "failed", 0.1),
        ],
    )
    state.history.record(other, [("t.py::test_other", "failed", 0.1)])
    assert state.history.failing_tests(job.id) == ("t.py::test_z", "t.py::test_a", "t.py::test_m")


def test_failed_earlier_is_what_other_runs_of_this_check_on_this_commit_failed(
    state: State,
) -> None:
    first = new_job(state.jobs, request())
    state.history.record(
        first,
        [("t.py::test_a", "failed", 0.1), ("t.py::test_b", "error", 0.1), ("t.py::c", "passed", 1)],
    )
    # What does not count: another check, another repository, another commit.
    lint = new_job(state.jobs, request(), check="lint")
    state.history.record(lint, [("t.py::test_lint", "failed", 0.1)])
    elsewhere = new_job(state.jobs, request(repo_id=1, repo_full_name="x/y", lane="1:branch:main"))
    state.history.record(elsewhere, [("t.py::test_elsewhere", "failed", 0.1)])
    older = new_job(state.jobs, request(SHA_B, lane="186853002:branch:older"))
    state.history.record(older, [("t.py::test_older", "failed", 0.1)])

    second = rerun(state, first)
    state.history.record(second, [("t.py::test_a", "passed", 0.1), ("t.py::test_d", "failed", 1)])
    # The run's own failures are not "earlier" ones.
    assert state.history.failed_earlier_on_this_commit(second) == frozenset(
        {"t.py::test_a", "t.py::test_b"}
    )
    assert state.history.failed_earlier_on_this_commit(first) == frozenset({"t.py::test_d"})


def test_flakiness_counts_the_commits_on_which_a_test_both_failed_and_passed(
    state: State,
) -> None:
    # SHA_A: test_flaky failed, then passed on the re-run; test_steady passed both times.
    a1 = new_job(state.jobs, request(SHA_A))
    state.history.record(a1, [("t::test_flaky", "failed", 0.1), ("t::test_steady", "passed", 0.1)])
    a2 = rerun(state, a1)
    state.history.record(a2, [("t::test_flaky", "passed", 0.1), ("t::test_steady", "passed", 0.1)])
    # SHA_B: an error then a pass is a flip too; SHA_C: failed only, not a flip.
    b1 = new_job(state.jobs, request(SHA_B, lane="186853002:branch:b"))
    state.history.record(b1, [("t::test_flaky", "error", 0.1)])
    state.history.record(rerun(state, b1), [("t::test_flaky", "passed", 0.1)])
    c1 = new_job(state.jobs, request(SHA_C, lane="186853002:branch:c"))
    state.history.record(c1, [("t::test_flaky", "failed", 0.1), ("t::test_steady", "failed", 0.1)])
    # Another check's results on the same commits are not this check's history.
    other_check = new_job(state.jobs, request(SHA_C), check="lint")
    state.history.record(other_check, [("t::test_flaky", "passed", 0.1)])

    assert state.history.flakiness(c1, ["t::test_flaky", "t::test_steady", "t::test_new"]) == {
        "t::test_flaky": (2, 3),
        "t::test_steady": (0, 2),
    }
    assert state.history.flakiness(c1, []) == {}


def test_flakiness_looks_at_the_latest_commits_of_the_check_only(state: State) -> None:
    oldest = new_job(state.jobs, request(SHA_A))
    state.history.record(oldest, [("t::test_x", "failed", 0.1)])
    state.history.record(rerun(state, oldest), [("t::test_x", "passed", 0.1)])
    middle = new_job(state.jobs, request(SHA_B, lane="186853002:branch:b"))
    state.history.record(middle, [("t::test_x", "passed", 0.1)])
    newest = new_job(state.jobs, request(SHA_C, lane="186853002:branch:c"))
    state.history.record(newest, [("t::test_x", "failed", 0.1)])

    assert state.history.flakiness(newest, ["t::test_x"], window=2) == {"t::test_x": (0, 2)}
    assert state.history.flakiness(newest, ["t::test_x"], window=3) == {"t::test_x": (1, 3)}
    assert state.history.flakiness(newest, ["t::test_x"]) == {"t::test_x": (1, 3)}
