"""A run's log as the page shows it: numbered lines in colour, grouped in the sections the runner
wrote (`── Title ── [12.3s]`), with their durations; the start and the end of a long log with a
marked gap between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.pages.ansi import PLAIN, ends_with, line_to_html, strip

# The page shows this much of the start and of the end of a long log, in bytes and in lines (each
# line is a row of its own, with its number and anchor); the raw log has it all.
WINDOW = 256 * 1024
WINDOW_LINES = 5000
SECTION = re.compile(r"── (.+?) ── \[(\d+(?:\.\d+)?)s\]")


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

    @property
    def last_section_title(self) -> str | None:
        return self.sections[-1].title if self.sections else None


def log_view(
    data: bytes,
    *,
    ended_after: float | None = None,
    window: int | None = WINDOW,
    first_line: int = 1,
) -> LogView:
    """`ended_after`: the run's length in seconds, once it is over (the last section's end);
    `first_line`: the number of the first line of `data` (the rest of a live log); `window`:
    None to show every line."""
    lines = data.decode(errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    head, tail = _window(lines, window)
    sections: list[_Building] = [_Building(None, None, first_line)]
    style = PLAIN
    for index, line in enumerate(lines):
        header = SECTION.fullmatch(strip(line).strip())
        if header:
            sections.append(_Building(header.group(1), float(header.group(2)), first_line + index))
        if index < head or index >= tail:
            rendered, style = line_to_html(line, style)
            sections[-1].rows.append(Line(first_line + index, rendered))
        else:
            style = ends_with(line, style)
            sections[-1].skip(len(line.encode()) + 1)
    built = [s for s in sections if s.rows or s.title is not None]
    starts = [s.started for s in built]
    return LogView(
        tuple(
            section.done(_next(starts[i + 1 :]) if i + 1 < len(built) else ended_after)
            for i, section in enumerate(built)
        ),
        len(lines),
        cut=tail > head,
    )


class _Building:
    def __init__(self, title: str | None, started: float | None, first_line: int) -> None:
        self.title = title
        self.started = started
        self.first_line = first_line
        self.rows: list[Line | Gap] = []

    def skip(self, size: int) -> None:
        if self.rows and isinstance(gap := self.rows[-1], Gap):
            self.rows[-1] = Gap(gap.lines + 1, gap.size + size)
        else:
            self.rows.append(Gap(1, size))

    def done(self, ended: float | None) -> Section:
        seconds = None
        if self.started is not None and ended is not None:
            seconds = max(0.0, ended - self.started)
        return Section(self.title, self.started, seconds, tuple(self.rows), self.first_line)


def _next(starts: list[float | None]) -> float | None:
    return next((s for s in starts if s is not None), None)


def _window(lines: list[str], window: int | None) -> tuple[int, int]:
    """How many lines the head shows, and the index the tail starts at (== head: all shown)."""
    sizes = [len(line.encode()) + 1 for line in lines]
    if window is None or (sum(sizes) <= window and len(lines) <= WINDOW_LINES):
        return len(lines), len(lines)
    half = window // 2
    most = WINDOW_LINES // 2
    head = size = 0
    while head < min(len(lines), most) and size + sizes[head] <= half:
        size += sizes[head]
        head += 1
    tail = len(lines)
    size = 0
    while tail > max(head, len(lines) - most) and size + sizes[tail - 1] <= half:
        size += sizes[tail - 1]
        tail -= 1
    return head, tail
