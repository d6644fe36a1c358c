"""app/report/terminal.py: a check run as plain text, as `python -m app check` prints it."""

from __future__ import annotations

from app.report.model import Annotation, CheckOutput
from app.report.terminal import render


def test_the_verdict_line_then_the_summary_indented_as_plain_text() -> None:
    output = CheckOutput("success", "5 tests passed", "✔ **5 tests passed**\n\nin 0.5s")
    assert render("tests", output) == (
        "✔ tests: success — 5 tests passed\n\n  ✔ 5 tests passed\n\n  in 0.5s"
    )


def test_each_annotation_by_its_first_line() -> None:
    output = CheckOutput(
        "failure",
        "2 tests failed",
        "summary",
        annotations=(
            Annotation("tests/test_a.py", 3, 3, "failure", "\nassert 1 == 2\nmore"),
            Annotation("a.py", 7, 7, "warning", "   "),
        ),
    )
    assert render("tests (3.12)", output).splitlines()[-4:] == [
        "",
        "  Annotations (2):",
        "  tests/test_a.py:3: assert 1 == 2",
        "  a.py:7: ",
    ]


def test_the_text_only_when_asked() -> None:
    output = CheckOutput("timed_out", "Timed out", "s", text="line one\n\nline three")
    assert "line one" not in render("lint", output)
    assert render("lint", output, with_text=True).splitlines() == [
        "⏱ lint: timed_out — Timed out",
        "",
        "  s",
        "",
        "  line one",
        "  ",
        "  line three",
    ]


def test_a_conclusion_without_an_icon_still_renders() -> None:
    output = CheckOutput("stale", "t", "", text="")  # type: ignore[arg-type]
    assert render("x", output) == "? x: stale — t\n"
