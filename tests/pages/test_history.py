"""app/pages/history.py: rows, filters' links and badges."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from app.pages.history import badge_svg, filter_query, sparkline
from app.state.job_history import FAILING, PASSING, HistoryFilter


def test_a_badge_is_well_formed_svg_in_the_status_colour() -> None:
    passing = ElementTree.fromstring(badge_svg("tests", PASSING))  # noqa: S314 - our own
    assert passing.tag == "{http://www.w3.org/2000/svg}svg"
    fills = {e.get("fill") for e in passing.iter() if e.get("fill")}
    assert "#2da44e" in fills
    assert "#cf222e" in badge_svg("tests", FAILING)


def test_a_badge_s_label_is_text() -> None:
    svg = badge_svg('<script>alert(1)</script>"', PASSING)
    assert "<script>" not in svg
    ElementTree.fromstring(svg)  # noqa: S314 - our own output, still well formed


def test_the_next_page_keeps_the_filters() -> None:
    chosen = HistoryFilter(branch="main", check="lint", before=90)
    assert filter_query(chosen, before=40) == "branch=main&check=lint&before=40"
    assert filter_query(HistoryFilter(pull_number=7)) == "pull=7"


def test_a_trend_is_a_bar_a_run_as_tall_as_it_was_long() -> None:
    from app.state.job_history import Point

    svg = sparkline([Point("success", 10.0), Point("failure", 20.0), Point("cancelled", None)])
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill', svg)]
    assert heights == [11.0, 22.0, 2.0]
    assert "<title>failure in 20.0s</title>" in svg
    assert sparkline([]) == ""
