"""app/pages/run_view.py: the header's facts and links."""

from __future__ import annotations

from dataclasses import replace

from app.pages.run_view import Link, duration, run_view
from tests.pages.test_run_page import failed, job


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (0.42, 59.94, 75, 3 * 3600 + 125)] == [
        "0.4s",
        "59.9s",
        "1m 15s",
        "3h 02m",
    ]


def test_a_running_job_s_time_counts_up_to_now() -> None:
    view = run_view(job(created_at=100.0, started_at=110.0), now=140.0)
    assert (view.waited, view.took, view.live) == ("10.0s", "30.0s", True)
    assert [m.label for m in view.moments] == ["queued", "started"]


def test_without_a_github_address_nothing_is_linked() -> None:
    plain = job(request=replace(job().request, html_url=None))
    view = run_view(plain, now=0.0)
    assert view.commit == Link("aaaaaaa", None)
    assert view.branch == Link("main", None)


def test_a_superseded_run_links_the_commit_that_replaced_it() -> None:
    view = run_view(job(superseded_by="b" * 40), now=0.0)
    assert view.superseded_by == Link("bbbbbbb", "https://github.com/octo/hello/commit/" + "b" * 40)


def test_annotations_link_their_lines() -> None:
    [annotation] = run_view(failed(), now=0.0).annotations
    assert annotation.place.text == "pkg/calc.py:12"
    assert annotation.place.url is not None
    assert annotation.place.url.endswith("/pkg/calc.py#L12")
