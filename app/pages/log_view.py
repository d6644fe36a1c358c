"""A run's log as the page shows it: numbered lines in colour, grouped in the sections the runner
wrote (`── Title ── [12.3s]`), with their durations; the start and the end of a long log with a
marked gap between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.pages.ansi import PLAIN, Style, ends_with, line_to_html
from app.report.escapes import strip_escapes

# The page shows this much of the start and of the end of a long log, in bytes and in lines (each
# line is a row of its own, with its number and anchor); the raw log has it all.
WINDOW = 256 * 1024
WINDOW_LINES = 5000
SECTION = re.compile(r"── (.+?) ── \[(\d+(?:\.\d+)?)s\]")
# The same, found in a stretch of lines at once (a header may follow colour codes and spaces).
HIDDEN_SECTION = re.compile(
    r"^[ \t]*(?:\x1b\[[0-9;:]*m)*── (.+?) ── \[(\d+(?:\.\d+)?)s\][ \t]*(?:\x1b\[[0-9;:]*m)*$",
    re.MULTILINE,
)
RESETS = ("\x1b[0m", "\x1b[m", "\x1b[0;")


@dataclass(frozen=True)
class Line:
    number: int
    html: str  # escaped, with colour spans


@dataclass(frozen=True)
class Gap:
    """Lines the page leaves out, in the raw log."""

    lines: int
    size: int  # bytes


@dataclass(frozen=True)
class Section:
    title: str | None  # None: what came before the first section
    started: float | None  # seconds into the run
    seconds: float | None  # how long it took; None while it goes on
    rows: tuple[Line | Gap, ...]
    first_line: int


@dataclass(frozen=True)
class LogView:
    sections: tuple[Section, ...]
    lines: int  # in the whole log
    cut: bool  # part of it is left out (a Gap)


def log_view(
    data: bytes,
    *,
    ended_after: float | None = None,
    window: int | None = WINDOW,
    first_line: int = 1,
) -> LogView:
    """`ended_after`: the run's length in seconds, once it is over (the last section's end);
    `first_line`: the number of the first line of `data` (the rest of a live log); `window`:
    None to show every line.

    Only the shown lines are laid out one by one; the part left out (up to LOG_LIMIT_KB, 16 MB
    by default) is looked at whole, for its sections, line count and the colour it ends in."""
    head_end, tail_start = _window(data, window)
    sections = [_Building(None, None, first_line)]
    number, style = _shown(data[:head_end], first_line, PLAIN, sections)
    if tail_start > head_end:
        number, style = _hidden(data[head_end:tail_start], number, style, sections)
        number, style = _shown(data[tail_start:], number, style, sections)
    built = [s for s in sections if s.rows or s.title is not None]
    starts = [s.started for s in built]
    return LogView(
        tuple(
            section.done(_next(starts[i + 1 :]) if i + 1 < len(built) else ended_after)
            for i, section in enumerate(built)
        ),
        number - first_line,
        cut=tail_start > head_end,
    )


def _lines(chunk: bytes) -> list[str]:
    lines = chunk.decode(errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _shown(chunk: bytes, number: int, style: Style, sections: list[_Building]) -> tuple[int, Style]:
    """Lay out `chunk`'s lines from line `number`; the next line's number and style."""
    for line in _lines(chunk):
        header = SECTION.fullmatch(strip_escapes(line).strip()) if "── " in line else None
        if header:
            sections.append(_Building(header.group(1), float(header.group(2)), number))
        rendered, style = line_to_html(line, style)
        sections[-1].rows.append(Line(number, rendered))
        number += 1
    return number, style


def _hidden(
    chunk: bytes, number: int, style: Style, sections: list[_Building]
) -> tuple[int, Style]:
    """Lines left out: a gap in each section they run through, and the style they end in."""
    text = chunk.decode(errors="replace")
    position = 0
    for header in [*HIDDEN_SECTION.finditer(text), None]:
        end = header.start() if header else len(text)
        stretch = text[position:end]
        sections[-1].skip(stretch.count("\n"), len(stretch.encode()))
        number += stretch.count("\n")
        if header is None:
            break
        sections.append(_Building(header.group(1), float(header.group(2)), number))
        position = end
    # Only what follows the last reset decides the colour the shown end starts in.
    reset = max(text.rfind(code) for code in RESETS)
    return number, ends_with(text[max(reset, 0) :], PLAIN if reset >= 0 else style)


class _Building:
    def __init__(self, title: str | None, started: float | None, first_line: int) -> None:
        self.title = title
        self.started = started
        self.first_line = first_line
        self.rows: list[Line | Gap] = []

    def skip(self, lines: int, size: int) -> None:
        if not lines:
            return
        if self.rows and isinstance(gap := self.rows[-1], Gap):
            self.rows[-1] = Gap(gap.lines + lines, gap.size + size)
        else:
            self.rows.append(Gap(lines, size))

    def done(self, ended: float | None) -> Section:
        seconds = None
        if self.started is not None and ended is not None:
            seconds = max(0.0, ended - self.started)
        return Section(self.title, self.started, seconds, tuple(self.rows), self.first_line)


def _next(starts: list[float | None]) -> float | None:
    return next((s for s in starts if s is not None), None)


def _window(data: bytes, window: int | None) -> tuple[int, int]:
    """Where the shown head ends and the shown tail starts, in bytes, at line ends (equal: all
    of it shown): at most half the window and half of WINDOW_LINES each."""
    if window is None or (len(data) <= window and data.count(b"\n") <= WINDOW_LINES):
        return len(data), len(data)
    half, most = window // 2, WINDOW_LINES // 2
    head = data.rfind(b"\n", 0, half) + 1
    end = 0
    for _ in range(most):
        found = data.find(b"\n", end, head)
        if found == -1:
            break
        end = found + 1
    else:
        head = end
    tail = data.find(b"\n", max(len(data) - half - 1, head), len(data) - 1) + 1 or len(data)
    start = len(data) - 1  # the last line's own end is not a line start
    for _ in range(most):
        found = data.rfind(b"\n", tail, start)
        if found == -1:
            break
        start = found
    else:
        tail = start + 1
    return head, max(head, tail)
