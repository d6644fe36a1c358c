"""app/suite/in_sandbox/conveyor_pytest/printed.py: a place read from what pytest prints, for
reports without an exception at hand. (In a real run, where the plugin's own place is broken:
tests/suite/in_sandbox/test_conveyor_pytest.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from app.suite.in_sandbox.conveyor_pytest.paths import Paths
from app.suite.in_sandbox.conveyor_pytest.printed import report_place, text_place
from app.suite.in_sandbox.conveyor_pytest.tracebacks import DETAILS_CHARS


def printed(root: Path) -> str:
    return "\n".join(
        [
            "tests/test_a.py:4: in test_a",
            "    helper()",
            f"{root}/src/helper.py:12: in helper",
            "    assert value == 3",
            f"{root}/.venv/lib/python3.12/site-packages/lib.py:7: in call",
            "E   assert 2 == 3",
            "E    +  where 2 = f()",
        ]
    )


def test_the_innermost_project_line_wins_with_the_e_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where pytest ran: relative names are from there
    place = text_place(printed(tmp_path), Paths(str(tmp_path)))
    assert (place["file"], place["line"]) == ("src/helper.py", 12)
    assert place["frames"] == [["tests/test_a.py", 4], ["src/helper.py", 12]]
    assert place["message"] == "assert 2 == 3\n +  where 2 = f()"
    assert place["details"] == printed(tmp_path)


def test_without_e_lines_the_last_line_is_the_message(tmp_path: Path) -> None:
    place = text_place("something went wrong\nin the end\n", Paths(str(tmp_path)))
    assert (place["file"], place["line"], place["frames"]) == (None, None, [])
    assert place["message"] == "in the end"
    assert text_place("", Paths(str(tmp_path)))["message"] == ""


def test_details_keep_the_end_of_a_long_text(tmp_path: Path) -> None:
    text = "x" * DETAILS_CHARS + "\nE   the end"
    place = text_place(text, Paths(str(tmp_path)))
    assert len(str(place["details"])) == DETAILS_CHARS
    assert str(place["details"]).endswith("E   the end")


def report(
    outcome: Literal["passed", "failed", "skipped"], longrepr: tuple[str, int, str] | str | None
) -> pytest.TestReport:
    """A real report, as a plugin (subtests, say) hands it over: no place of ours on it."""
    return pytest.TestReport("t.py::test", ("t.py", 0, "test"), {}, outcome, longrepr, "call")


def test_a_skip_says_its_reason(tmp_path: Path) -> None:
    skipped = report("skipped", ("t.py", 3, "Skipped: not on this system"))
    assert report_place(skipped, Paths(str(tmp_path))) == {
        "message": "not on this system",
        "details": "",
        "frames": [],
    }


def test_a_failure_is_read_from_its_printed_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    failed = report("failed", printed(tmp_path))
    place = report_place(failed, Paths(str(tmp_path)))
    assert (place["file"], place["line"]) == ("src/helper.py", 12)
    assert place["message"] == "assert 2 == 3\n +  where 2 = f()"
    passed = report("passed", None)
    assert report_place(passed, Paths(str(tmp_path))) == {
        "message": "",
        "details": "",
        "frames": [],
    }
