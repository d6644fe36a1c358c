"""A run's log: what the commands printed, with every secret masked before it touches the disk.

The log is read live by the details page while the run goes on, so it is written as output comes.
Masking works on whole lines (a secret split across two reads of the pipe must still be caught),
so a line is held back until its end arrives, or until it grows too long to be a single line.
A secret may also be printed in two pieces on consecutive lines (`print(t[:20]); print(t[20:])`),
so the last complete line is held back too, until the next line arrives or the log is flushed:
that way both pieces are masked together, and the log still lags by at most one line.

A log has a cap (`limit`, the operator's LOG_LIMIT): a run that prints without end must not fill
the disk. Its head (the first half) is kept, and its tail in segments of a quarter each: when a
third segment starts, the oldest is deleted, so at most `limit` bytes are on disk at any moment
and the last quarter to half of the output is always there. Positions stay those of the whole
output, so what was dropped is a gap between the head and the tail (see `read`).
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

MASK = "***"
HOLD_LIMIT = 64 * 1024  # a "line" longer than this is flushed as it is (masked)
MIN_SECRET = 6  # shorter values would mask ordinary words
# What may stand between two pieces of a secret printed on consecutive lines: a line break and
# the indentation of the next line. Nothing else: allowing any text would let a short piece of a
# secret (its first character) mask unrelated words up to the rest of it.
_LINE_BREAK = rb"(?:\r?\n[ \t]*)?"


class Masker:
    """Replaces each secret, and its base64 forms, with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[bytes] = set()
        for secret in secrets:
            if len(secret) < MIN_SECRET:
                continue
            raw = secret.encode()
            forms.add(raw)
            for offset in range(3):  # base64 of the secret at any alignment inside a longer text
                encoded = base64.b64encode(b"\0" * offset + raw)
                # Only the characters made of the secret's bits alone are fixed; those at either
                # end also hold bits of whatever surrounds it.
                start, end = (offset * 8 + 5) // 6, ((offset + len(raw)) * 8) // 6
                if end - start >= 8:
                    forms.add(encoded[start:end])
            # PEM keys and other multi-line secrets: every long line of it
            forms.update(line.strip() for line in raw.splitlines() if len(line.strip()) >= 16)
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile(b"|".join(map(_pattern, ordered))) if ordered else None

    def __call__(self, data: bytes) -> bytes:
        if self._pattern is None:
            return data
        return self._pattern.sub(_masked, data)

    def safe_cut(self, data: bytes, cut: int) -> int:
        """`cut`, or the end of a secret that starts before it and ends after it (one split
        over the line break at `cut`): data[:result] can then be masked and written on its own.
        """
        if self._pattern is None or cut == 0:
            return cut
        # A match across `cut` starts at the latest on the line before it (one break per match
        # is what the line break pattern is built for): no need to scan earlier lines again.
        start = data.rfind(b"\n", 0, cut - 1) + 1
        for match in self._pattern.finditer(data, start):
            if match.start() >= cut:
                break
            if match.end() > cut:
                return match.end()
        return cut


def _pattern(form: bytes) -> bytes:
    """The form as a regex; a one-line form also matches with a line break between any two of
    its characters (the form is then printed in two pieces, on two lines)."""
    if b"\n" in form:
        return re.escape(form)
    return _LINE_BREAK.join(re.escape(form[i : i + 1]) for i in range(len(form)))


def _masked(match: re.Match[bytes]) -> bytes:
    # The line breaks inside a split secret are kept, so the log keeps its lines.
    return MASK.encode() + b"\n" * match.group().count(b"\n")


class RunLog:
    def __init__(self, path: Path, masker: Masker, *, limit: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # A new file: an attempt's log is its own, never the end of an earlier attempt's.
        self._file = path.open("wb", buffering=0)
        self._mask = masker
        self._held = b""
        self.started = time.monotonic()
        self.limit = limit
        self.size = 0  # bytes of output so far, kept or not
        # Where the head ended (None: it has not, all of the output is in `path`).
        self.head_end: int | None = None
        self._head_limit = limit // 2 if limit is not None else None
        self._segment = max(1, (limit or 0) // 4)
        self._tail: BinaryIO | None = None
        self._tail_index = -1
        # Where the tail's segments start: the one being written, and the one before it.
        self._tail_start = self._previous_start = 0

    @property
    def kept_from(self) -> int:
        """The first byte of the tail that is kept (the head's end while nothing was dropped)."""
        if self.head_end is None:
            return self.size
        return self.head_end if self._tail_index < 0 else self._previous_start

    @property
    def omitted(self) -> int:
        """How many bytes of output were dropped between the head and the tail."""
        return 0 if self.head_end is None else self.kept_from - self.head_end

    def _segment_path(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def _emit(self, data: bytes) -> None:
        """Masked output onto the disk: into the head while it has room, else the tail. Both
        end after a whole line where one fits, so what is kept starts and ends with lines."""
        if self.head_end is None:
            if self._head_limit is None or self.size + len(data) <= self._head_limit:
                self._file.write(data)
                self.size += len(data)
                return
            cut = _cut(data, self._head_limit - self.size, whole_lines=self.size > 0)
            self._file.write(data[:cut])
            self.size += cut
            self.head_end = self.size
            data = data[cut:]
        while data:
            room = self._tail_start + self._segment - self.size
            if self._tail is None or room <= 0:
                self._next_segment()
                continue
            cut = len(data) if len(data) <= room else _cut(data, room, whole_lines=True)
            if cut == 0:
                if self.size > self._tail_start:  # a line that does not fit: the next segment
                    self._next_segment()
                    continue
                cut = _cut(data, room, whole_lines=False)  # a line longer than a segment
            assert self._tail is not None
            self._tail.write(data[:cut])
            self.size += cut
            data = data[cut:]

    def _next_segment(self) -> None:
        if self._tail is not None:
            self._tail.close()
        self._tail_index += 1
        self._previous_start = self._tail_start if self._tail_index else self.size
        self._tail_start = self.size
        self._tail = self._segment_path(self._tail_index).open("wb", buffering=0)
        # Two segments back is more than the tail keeps: off the disk.
        self._segment_path(self._tail_index - 2).unlink(missing_ok=True)

    def read(self, start: int, size: int) -> tuple[int, bytes]:
        """Up to `size` bytes of the log from `start` on, from one file, and where they start:
        from the first byte kept after `start` when it was dropped."""
        if self.head_end is None or start < self.head_end:
            end = self.size if self.head_end is None else self.head_end
            return start, _read_at(self.path, start, min(size, end - start))
        start = max(start, self.kept_from)
        if start >= self.size or self._tail_index < 0:
            return start, b""
        if start < self._tail_start:  # in the segment before the last
            first, end, index = self._previous_start, self._tail_start, self._tail_index - 1
        else:
            first, end, index = self._tail_start, self.size, self._tail_index
        length = min(size, end - start)
        return start, _read_at(self._segment_path(index), start - first, length)

    def write(self, chunk: bytes) -> None:
        data = self._held + chunk
        end = data.rfind(b"\n") + 1  # the end of the complete lines
        # The last complete line waits for the next one: a secret may go on there.
        cut = self._mask.safe_cut(data[:end], data.rfind(b"\n", 0, end - 1) + 1) if end else 0
        if len(data) - cut > HOLD_LIMIT:
            # Memory stays bounded: a very long line is written without waiting for the next,
            # and a very long unfinished one as it is (both masked).
            cut = end if len(data) - end <= HOLD_LIMIT else len(data)
        self._held = data[cut:]
        if cut:
            self._emit(self._mask(data[:cut]))

    def line(self, text: str) -> None:
        """A line of Conveyor's own (section headers, what it decided)."""
        self.flush()
        self._emit(self._mask(f"{text}\n".encode()))

    def section(self, title: str) -> None:
        elapsed = time.monotonic() - self.started
        self.line(f"\n── {title} ── [{elapsed:.1f}s]")

    def flush(self) -> None:
        if self._held:
            # Held text is the last complete line and/or an unfinished one, which gets its end.
            ending = b"" if self._held.endswith(b"\n") else b"\n"
            self._emit(self._mask(self._held + ending))
            self._held = b""

    def close(self) -> None:
        self.flush()
        self._file.close()
        if self._tail is not None:
            self._tail.close()

    def tail(self, size: int = 64 * 1024) -> str:
        """The last `size` bytes of what is kept, as text."""
        self.flush()
        end = self.size
        position = max(0, end - size)
        parts = []
        while position < end:
            position, data = self.read(position, end - position)
            if not data:
                break
            parts.append(data)
            position += len(data)
        text = b"".join(parts).decode(errors="replace")
        return text if end <= size else "…" + text.split("\n", 1)[-1]


def _cut(data: bytes, room: int, *, whole_lines: bool) -> int:
    """Where to end a part of the log in `data` when `room` bytes of it fit: after the last line
    that fits whole (0 if none does and `whole_lines`), else at the start of a character (UTF-8
    continuation bytes go on)."""
    newline = data.rfind(b"\n", 0, room)
    if newline >= 0 or whole_lines:
        return newline + 1
    cut = room
    while 0 < cut < len(data) and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut


def _read_at(path: Path, offset: int, size: int) -> bytes:
    if size <= 0:
        return b""
    with contextlib.suppress(FileNotFoundError), path.open("rb") as file:
        file.seek(offset)
        return file.read(size)
    return b""
