"""app/report/limits.py: GitHub's limits counted in UTF-8 bytes, cut at a character and, where
near, at a line, with a marker saying what was dropped."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.report.limits import CUT, NEAR, OMITTED, keep_head, keep_tail, size, title, utf8


def test_size_counts_utf8_bytes() -> None:
    assert size("abc") == 3
    assert size("é") == 2
    assert size("€") == 3
    assert size("测试") == 6
    assert size("😀") == 4
    assert size("é€测试") == 11


def test_a_lone_surrogate_is_counted_and_sent_as_a_question_mark() -> None:
    assert utf8("a\udc80b") == b"a?b"
    assert keep_head("a\udc80b", 100) == "a?b"


@pytest.mark.parametrize("keep", [keep_head, keep_tail])
def test_a_text_within_the_limit_is_unchanged(keep: Callable[[str, int], str]) -> None:
    text = "é€测试\n" * 100
    assert keep(text, size(text)) == text


@pytest.mark.parametrize("char", ["é", "€", "测", "😀"])
@pytest.mark.parametrize("limit", [100, 101, 102, 103, 1000])
def test_head_is_cut_at_a_character_boundary_within_the_limit(char: str, limit: int) -> None:
    text = char * 2000  # one long line: no line break to prefer
    cut = keep_head(text, limit)
    assert size(cut) <= limit
    assert size(cut) > limit - len(char.encode())  # nothing more could have been kept
    assert cut.endswith(CUT)
    assert set(cut.removesuffix(CUT)) == {char}


@pytest.mark.parametrize("char", ["é", "€", "测", "😀"])
@pytest.mark.parametrize("limit", [100, 101, 102, 103, 1000])
def test_tail_is_cut_at_a_character_boundary_within_the_limit(char: str, limit: int) -> None:
    text = char * 2000
    cut = keep_tail(text, limit)
    assert size(cut) <= limit
    assert size(cut) > limit - len(char.encode())
    assert cut.startswith(OMITTED)
    assert set(cut.removeprefix(OMITTED)) == {char}


def test_head_prefers_a_line_break_near_the_cut() -> None:
    text = "".join(f"{n} é€测试\n" for n in range(10_000))
    cut = keep_head(text, 5000)
    kept = cut.removesuffix(CUT)
    assert size(cut) <= 5000
    assert text.startswith(kept + "\n")  # whole lines only
    assert size(cut) > 5000 - 30  # lines are short: little was lost for it


def test_tail_prefers_a_line_break_near_the_cut() -> None:
    text = "".join(f"{n} é€测试\n" for n in range(10_000))
    cut = keep_tail(text, 5000)
    kept = cut.removeprefix(OMITTED)
    assert size(cut) <= 5000
    assert text.endswith("\n" + kept)  # starts at a line
    assert kept.endswith("9999 é€测试\n")  # the end, where a log says what went wrong


def test_a_line_break_far_from_the_cut_is_not_waited_for() -> None:
    """A single line longer than NEAR before the cut: cutting at the break would lose most of
    the room, so the cut falls inside the line."""
    text = "short\n" + "x" * (10 * NEAR)
    cut = keep_head(text, 5 * NEAR)
    assert size(cut) > 5 * NEAR - len(CUT.encode()) - 1
    cut = keep_tail("x" * (10 * NEAR) + "\nend", 5 * NEAR)
    assert size(cut) > 5 * NEAR - len(OMITTED.encode()) - 1


def test_markers_say_which_end_was_dropped() -> None:
    assert "cut to fit" in CUT
    assert "earlier output omitted" in OMITTED


def test_a_limit_smaller_than_the_marker_still_fits() -> None:
    assert size(keep_head("é" * 100, 5)) <= 5
    assert size(keep_tail("é" * 100, 5)) <= 5


def test_a_title_is_cut_in_characters_and_says_so() -> None:
    assert title("测" * 255) == "测" * 255  # 765 bytes: titles count characters
    assert title("测" * 256) == "测" * 254 + "…"
    assert len(title("x" * 10_000)) == 255
