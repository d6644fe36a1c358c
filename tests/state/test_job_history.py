"""app/state/job_history.py: a repository's runs for people, on both databases."""

from __future__ import annotations

from app.report.model import CheckOutput
from app.state import State
from app.state.job_history import FAILING, PAGE, PASSING, RUNNING, UNKNOWN, HistoryFilter
from app.state.jobs import JobQueue
from tests.state.factories import SHA_A, finish, new_job, request


def sha(n: int) -> str:
    return f"{n:040x}"


def test_only_a_repository_github_called_public_is_public(state: State, queue: JobQueue) -> None:
    assert not state.runs.public("octo/hello")  # no runs
    new_job(queue, request(SHA_A))  # not known
    assert not state.runs.public("octo/hello")
    new_job(queue, request(sha(1), private=False))
    assert state.runs.public("Octo/Hello")  # as GitHub compares names
    new_job(queue, request(sha(2), private=True))  # made private since: the newest run says
    assert not state.runs.public("octo/hello")


def test_runs_come_newest_first_filtered_and_a_page_at_a_time(
    state: State, queue: JobQueue
) -> None:
    made = []
    for n in range(PAGE + 5):
        branch = "main" if n % 2 else "feature"
        made.append(new_job(queue, request(sha(n), head_branch=branch, lane=f"l{n}")))
    finish(queue, made[-1], "failure")
    runs = state.runs.runs("octo/hello")
    assert [job.id for job in runs] == [job.id for job in reversed(made)][:PAGE]
    older = state.runs.runs("octo/hello", HistoryFilter(before=runs[-1].id))
    assert [job.id for job in older] == [job.id for job in reversed(made)][PAGE:]
    mains = state.runs.runs("octo/hello", HistoryFilter(branch="main"))
    assert {job.request.head_branch for job in mains} == {"main"}
    assert len(mains) == (PAGE + 5) // 2
    failed = state.runs.runs("octo/hello", HistoryFilter(conclusion="failure"))
    assert [job.id for job in failed] == [made[-1].id]
    queued = state.runs.runs("octo/hello", HistoryFilter(conclusion="queued"))
    assert made[-1].id not in {job.id for job in queued}
    assert state.runs.runs("octo/other") == []
    assert state.runs.checks("octo/hello") == ["tests"]


def test_the_badge_says_the_newest_run_that_says_something(state: State, queue: JobQueue) -> None:
    assert state.runs.badge("octo/hello", "main") == UNKNOWN
    first = new_job(queue, request(sha(1), lane="a"))
    assert state.runs.badge("octo/hello", "main") == RUNNING
    finish(queue, first, "success")
    assert state.runs.badge("octo/hello", "main") == PASSING
    second = new_job(queue, request(sha(2), lane="b"))
    queue.finish(second.id, CheckOutput("cancelled", "Superseded", ""))
    assert state.runs.badge("octo/hello", "main") == PASSING  # a cancelled run says nothing
    third = new_job(queue, request(sha(3), lane="c"))
    finish(queue, third, "timed_out")
    assert state.runs.badge("octo/hello", "main") == FAILING
    assert state.runs.badge("octo/hello", "other-branch") == UNKNOWN
    assert state.runs.badge("octo/hello", "main", check="lint") == UNKNOWN


def test_the_latest_run_of_a_branch_and_the_front_page_s_public_runs(
    state: State, queue: JobQueue
) -> None:
    new_job(queue, request(sha(1), lane="a", private=False))
    newest = new_job(queue, request(sha(2), lane="b", private=False))
    new_job(queue, request(sha(3), lane="c", head_branch="other", private=True))
    latest = state.runs.latest("octo/hello", "main")
    assert latest is not None
    assert latest.id == newest.id
    assert state.runs.latest("octo/hello", "gone") is None
    assert [job.request.head_sha for job in state.runs.recent_public()] == [sha(2), sha(1)]


def test_a_run_knows_its_re_runs_and_the_run_that_replaced_it(
    state: State, queue: JobQueue
) -> None:
    first = finish(queue, new_job(queue, request(SHA_A)), "failure")
    again = queue.enqueue(request(SHA_A, rerun=True), "tests", rerun_of=first.id).job
    assert again is not None
    related = state.runs.related(first)
    assert related.rerun_of is None
    assert [job.id for job in related.reruns] == [again.id]
    assert related.replaced_by is None
    rerun_of = state.runs.related(again).rerun_of
    assert rerun_of is not None
    assert rerun_of.id == first.id

    newer = new_job(queue, request(sha(9)))  # a newer push to the branch replaces the re-run
    replaced = queue.get(again.id)
    assert replaced is not None
    assert replaced.superseded_by == sha(9)
    replaced_by = state.runs.related(replaced).replaced_by
    assert replaced_by is not None
    assert replaced_by.id == newer.id


def test_each_check_s_trend_is_its_last_finished_runs_oldest_first(
    state: State, queue: JobQueue
) -> None:
    for n, conclusion in enumerate(["success", "failure", "success"]):
        job = new_job(queue, request(sha(n), lane=f"t{n}"))
        finish(queue, job, conclusion)  # type: ignore[arg-type]
    new_job(queue, request(sha(7), lane="t7"))  # still queued: not in the trend
    [(check, points)] = state.runs.trend("octo/hello", runs=2).items()
    assert check == "tests"
    assert [p.conclusion for p in points] == ["failure", "success"]
