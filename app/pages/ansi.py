"""A log line's ANSI colour codes (SGR) as HTML spans, everything else in it escaped.

A colour set on one line holds on the next, as in a terminal, so a line is rendered from the
style the line before it ended with. Other escape sequences (cursor moves, titles) are dropped,
and a carriage return keeps what was written after it, as a progress bar leaves the terminal.

Written here rather than taken from a package: the ones there are (ansi2html) convert a whole
text at once, where the page needs each line on its own, numbered, with the style carried.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

from app.report.escapes import OTHER_ESCAPE, SGR

NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


@dataclass(frozen=True)
class Style:
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    fg: str | None = None  # a colour of NAMES, or "bright-" one
    bg: str | None = None

    def classes(self) -> str:
        names = [name for name in ("bold", "dim", "italic", "underline") if getattr(self, name)]
        if self.fg:
            names.append(f"fg-{self.fg}")
        if self.bg:
            names.append(f"bg-{self.bg}")
        return " ".join(names)


PLAIN = Style()


def line_to_html(line: str, style: Style = PLAIN) -> tuple[str, Style]:
    """The line (no line break in it) as escaped HTML, and the style it ends with."""
    overwritten, _, line = line.rstrip("\r").rpartition("\r")
    style = ends_with(overwritten, style)
    parts: list[str] = []
    position = 0
    for match in SGR.finditer(line):
        parts.append(_span(line[position : match.start()], style))
        style = apply(style, match.group(1))
        position = match.end()
    parts.append(_span(line[position:], style))
    return "".join(parts), style


def ends_with(line: str, style: Style = PLAIN) -> Style:
    """The style after `line`, without rendering it (for lines the page does not show)."""
    for match in SGR.finditer(line):
        style = apply(style, match.group(1))
    return style


def apply(style: Style, parameters: str) -> Style:
    codes = [int(c) if c.isdigit() else 0 for c in re.split("[;:]", parameters or "0")]
    index = 0
    while index < len(codes):
        code = codes[index]
        index += 1
        if code == 0:
            style = PLAIN
        elif code == 1:
            style = replace(style, bold=True)
        elif code == 2:
            style = replace(style, dim=True)
        elif code == 3:
            style = replace(style, italic=True)
        elif code == 4:
            style = replace(style, underline=True)
        elif code == 22:
            style = replace(style, bold=False, dim=False)
        elif code == 23:
            style = replace(style, italic=False)
        elif code == 24:
            style = replace(style, underline=False)
        elif 30 <= code <= 37 or 90 <= code <= 97:
            style = replace(style, fg=_colour(code % 10 + (8 if code >= 90 else 0)))
        elif code == 39:
            style = replace(style, fg=None)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            style = replace(style, bg=_colour(code % 10 + (8 if code >= 100 else 0)))
        elif code == 49:
            style = replace(style, bg=None)
        elif code in (38, 48):
            # 256 colours (5;n: the first 16 are the named ones) or true colour (2;r;g;b):
            # shown in the nearest named colour, or plain.
            colour = None
            if index < len(codes) and codes[index] == 5 and index + 1 < len(codes):
                colour = _colour(codes[index + 1])
                index += 2
            elif index < len(codes) and codes[index] == 2:
                index += 4
            style = replace(style, fg=colour) if code == 38 else replace(style, bg=colour)
    return style


def _colour(number: int) -> str | None:
    """The name of colour `number` of the 16 named ones (8 and up: their bright kind)."""
    if number < 8:
        return NAMES[number]
    return f"bright-{NAMES[number - 8]}" if number < 16 else None


def _span(text: str, style: Style) -> str:
    if not text:
        return ""
    escaped = html.escape(OTHER_ESCAPE.sub("", text), quote=False)
    classes = style.classes()
    return f'<span class="{classes}">{escaped}</span>' if classes else escaped
