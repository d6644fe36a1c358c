"""app/pages/ansi.py: colour codes as spans, the style carried from line to line."""

from __future__ import annotations

from app.pages.ansi import PLAIN, Style, ends_with, line_to_html
from app.report.escapes import strip_escapes


def test_colours_become_spans_and_the_rest_is_escaped() -> None:
    html, style = line_to_html("\x1b[32mok\x1b[0m <b>&\x1b[1;91mFAIL")
    assert html == (
        '<span class="fg-green">ok</span> &lt;b&gt;&amp;'
        '<span class="bold fg-bright-red">FAIL</span>'
    )
    assert style == Style(bold=True, fg="bright-red")


def test_a_colour_left_on_holds_on_the_next_line() -> None:
    _, style = line_to_html("\x1b[33mwarning: starts here")
    html, style = line_to_html("and goes on\x1b[39m", style)
    assert html == '<span class="fg-yellow">and goes on</span>'
    assert style == PLAIN


def test_other_escapes_are_dropped_and_a_carriage_return_keeps_the_last_write() -> None:
    assert line_to_html("a\x1b]0;title\x07b\x1b[2Kc\x1b[1A")[0] == "abc"
    assert line_to_html("10%\r50%\r\x1b[32m100%\r")[0] == '<span class="fg-green">100%</span>'


def test_256_colours_are_shown_in_the_nearest_named_one_or_plain() -> None:
    assert line_to_html("\x1b[38;5;1mred")[0] == '<span class="fg-red">red</span>'
    assert line_to_html("\x1b[38;5;200mpink")[0] == "pink"
    assert line_to_html("\x1b[38;2;1;2;3;1mbold")[0] == '<span class="bold">bold</span>'


def test_strip_and_ends_with_see_what_rendering_sees() -> None:
    line = "\x1b[1mbold\x1b[22m \x1b[44mon blue"
    assert strip_escapes(line) == "bold on blue"
    assert ends_with(line) == line_to_html(line)[1] == Style(bg="blue")
