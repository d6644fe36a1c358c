"""app/pages/log_view.py: the log in numbered lines, sections with durations, a window."""

from __future__ import annotations

from app.pages.log_view import WINDOW_LINES, Gap, Line, log_view

LOG = (
    "Fetched abc1234\n"
    "\n── Installing (network on) ── [0.5s]\n"
    "$ pip install pytest\n"
    "\n── Testing (network off) ── [12.5s]\n"
    "$ pytest\n"
    "\x1b[31mFAILED\x1b[0m\n"
).encode()


def test_sections_have_their_lines_and_durations() -> None:
    view = log_view(LOG, ended_after=20.0)
    assert [(s.title, s.started, s.seconds, s.first_line) for s in view.sections] == [
        (None, None, None, 1),
        ("Installing (network on)", 0.5, 12.0, 3),
        ("Testing (network off)", 12.5, 7.5, 6),
    ]
    assert view.lines == 8
    assert view.sections[2].rows[-1] == Line(8, '<span class="fg-red">FAILED</span>')
    assert not view.cut


def test_while_the_run_goes_on_the_last_section_has_no_duration() -> None:
    assert log_view(LOG).sections[-1].seconds is None


def test_a_long_log_keeps_its_start_and_end_and_says_what_is_left_out() -> None:
    data = "".join(f"line {n}\n" for n in range(3 * WINDOW_LINES)).encode()
    view = log_view(data)
    [section] = view.sections
    rows = section.rows
    gaps = [row for row in rows if isinstance(row, Gap)]
    assert len(gaps) == 1
    shown = [row for row in rows if isinstance(row, Line)]
    assert len(shown) + gaps[0].lines == 3 * WINDOW_LINES
    assert shown[0] == Line(1, "line 0")
    assert shown[-1] == Line(3 * WINDOW_LINES, f"line {3 * WINDOW_LINES - 1}")
    assert view.cut


def test_a_live_log_s_rest_is_numbered_from_where_it_starts() -> None:
    view = log_view(b"one\ntwo\n", window=None, first_line=41)
    assert [row for s in view.sections for row in s.rows] == [Line(41, "one"), Line(42, "two")]


def test_sections_left_out_keep_their_place_and_the_tail_its_colour() -> None:
    parts = []
    for number in range(6):
        parts.append(f"\n── Section {number} ── [{number * 10}.0s]\n")
        parts += [f"\x1b[3{n % 7}mline {number}.{n}\x1b[0m {'x' * 40}\n" for n in range(3000)]
    parts.append("\x1b[35mstill magenta\nand here\n")
    data = "".join(parts).encode()
    cut, whole = log_view(data, ended_after=100.0), log_view(data, window=None)
    assert cut.cut
    assert cut.lines == whole.lines
    assert [(s.title, s.first_line, s.seconds) for s in cut.sections] == [
        (s.title, s.first_line, 10.0 if s.title != "Section 5" else 50.0)
        if s.title
        else (None, 1, None)
        for s in whole.sections
    ]
    for section in cut.sections:
        shown = sum(1 for row in section.rows if isinstance(row, Line))
        gaps = sum(row.lines for row in section.rows if isinstance(row, Gap))
        [same] = [s for s in whole.sections if s.first_line == section.first_line]
        assert shown + gaps == len(same.rows)
    # A colour set before the cut still holds after it, as in the whole log.
    last = cut.sections[-1].rows[-1]
    assert last == whole.sections[-1].rows[-1]
    assert isinstance(last, Line)
    assert last.html == '<span class="fg-magenta">and here</span>'
