"""app/report/escapes.py: terminal escapes out of tool output."""

from __future__ import annotations

from app.report.escapes import strip_escapes


def test_colours_cursor_moves_and_titles_go() -> None:
    text = "\x1b[1;32mPASSED\x1b[0m\x1b[2K\x1b[1A\x1b]0;a title\x07 done\x1b(B"
    assert strip_escapes(text) == "PASSED done"


def test_a_progress_bar_leaves_its_last_state() -> None:
    assert strip_escapes("collecting\n10%\r55%\r100%\nok\r\n") == "collecting\n100%\nok\n"


def test_text_without_escapes_is_unchanged() -> None:
    text = "plain — text\n\twith tabs\n"
    assert strip_escapes(text) == text
