"""A failure's exception → its place: file, line, message, details (like pytest's --tb=short)
and the repository's frames, with the limits on each."""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .paths import Paths

DETAILS_CHARS = 4000
ERROR_LINES_CHARS = 2000
MESSAGE_CHARS = 4000
MAX_FRAMES = 100

if TYPE_CHECKING:
    Frame = tuple[str, int]
    Place = dict[str, Any]

CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"


def chain(error: BaseException, depth: int = 0) -> list[tuple[BaseException, str]]:
    """The exception and what it came from, oldest first, each with the sentence Python prints
    before it. An exception group (anyio, trio, hypothesis) is followed by its first exception,
    where the failure really is; the group was raised by whoever collected them."""
    found: list[tuple[BaseException, str]] = []
    current: BaseException | None = error
    while current is not None and len(found) < 10:
        if any(current is seen for seen, _ in found):
            break
        cause, header = current.__cause__, CAUSE
        if cause is None and not current.__suppress_context__:
            cause, header = current.__context__, CONTEXT
        found.append((current, header if cause is not None else ""))
        current = cause
    found.reverse()
    members = getattr(error, "exceptions", None)
    if depth < 5 and isinstance(members, (list, tuple)) and members:
        first = members[0]
        if isinstance(first, BaseException):
            inner = chain(first, depth + 1)
            header = f"The first of the {len(members)} exceptions in the group above:"
            inner[0] = (inner[0][0], header)
            found.extend(inner)
    return found[-20:]


def hidden(frame: Any) -> bool:
    """pytest's convention: a helper that sets `__tracebackhide__` wants its caller blamed."""
    with contextlib.suppress(Exception):
        if frame.f_globals.get("__unittest"):
            return True  # unittest's own assert methods, which unittest hides too
        for scope in (frame.f_locals, frame.f_globals):
            value = scope.get("__tracebackhide__", False)
            if value and not callable(value):
                return True
    return False


def walk(tb: TracebackType | None) -> Iterator[tuple[str, int, str]]:
    """(file name, 1-based line, function) for each frame, outermost first."""
    count = 0
    while tb is not None and count < 1000:
        if not hidden(tb.tb_frame):
            code = tb.tb_frame.f_code
            yield code.co_filename, tb.tb_lineno, code.co_name
        tb = tb.tb_next
        count += 1


def repo_frames(error: BaseException, paths: Paths) -> list[Frame]:
    frames = []
    for filename, line, _ in walk(error.__traceback__):
        relative = paths.relative(filename)
        if relative is not None:
            frames.append((relative, line))
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        relative = paths.relative(error.filename)
        if relative is not None:
            frames.append((relative, int(error.lineno)))
    return frames


def message_of(error: BaseException) -> str:
    """What pytest prints after `E`: the assertion with pytest's explanation, else
    `ExcType: message`."""
    text = ""
    if isinstance(error, AssertionError):
        text = str(error)
        if not text:
            # A bare assert pytest did not rewrite (a helper module): the statement says more.
            text = failing_statement(error) or "AssertionError"
        elif not text.startswith("assert "):
            text = "AssertionError: " + text
    elif isinstance(error, SyntaxError):
        text = f"{type(error).__name__}: {error.msg}"
    elif type(error).__name__ == "FixtureLookupError":
        text = (
            getattr(error, "msg", None) or f"fixture {getattr(error, 'argname', '?')!r} not found"
        )
    if not text:
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return cap(text, MESSAGE_CHARS)


def failing_statement(error: BaseException) -> str:
    import linecache

    entries = list(walk(error.__traceback__))
    if not entries:
        return ""
    filename, line, _ = entries[-1]
    source = linecache.getline(filename, line).strip()
    return source if source.startswith("assert") else ""


def strip_prefix(text: str, prefix: str) -> str:
    """str.removeprefix, which Python 3.8 lacks."""
    return text[len(prefix) :] if text.startswith(prefix) else text


def cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_path(filename: str, paths: Paths) -> str:
    relative = paths.relative(filename)
    if relative is not None:
        return relative
    marker = os.sep + "site-packages" + os.sep
    return filename.split(marker, 1)[1] if marker in filename else filename


def short_traceback(errors: list[tuple[BaseException, str]], paths: Paths) -> str:
    """Like pytest's --tb=short: `path:line: in function`, the source line, `E` lines; from the
    first frame of the project on, innermost frames kept when it must be cut."""
    import linecache

    blocks = []
    for error, header in errors:
        entries = list(walk(error.__traceback__))
        first = next((i for i, e in enumerate(entries) if paths.relative(e[0])), None)
        if first is None:
            # Nothing of the project's: pytest's machinery says little; its last frame may help.
            quiet = isinstance(error, SyntaxError) or type(error).__name__ == "FixtureLookupError"
            first = len(entries) if quiet else max(len(entries) - 1, 0)
        lines = [header, ""] if header else []
        for filename, line, function in entries[first:]:
            lines.append(f"{shown_path(filename, paths)}:{line}: in {function}")
            source = linecache.getline(filename, line).strip()
            if source:
                lines.append("    " + source)
        if isinstance(error, SyntaxError) and error.filename:
            lines.append(f"{shown_path(error.filename, paths)}:{error.lineno}")
            if error.text:
                lines.append("    " + error.text.rstrip("\n").strip())
        error_lines = cap(message_of(error), ERROR_LINES_CHARS).splitlines() or [""]
        lines.extend("E   " + text for text in error_lines)
        blocks.append("\n".join(lines))
    text = "\n\n".join(blocks)
    while len(text) > DETAILS_CHARS and len(blocks) > 1:
        blocks.pop(0)
        text = "\n\n".join(blocks)
    if len(text) > DETAILS_CHARS:
        text = "…" + text[-(DETAILS_CHARS - 1) :]
    return text


def dedupe(frames: list[Frame]) -> list[list[Any]]:
    """Each frame once, at its last (innermost) position."""
    seen = set()
    kept = []
    for frame in reversed(frames):
        if frame not in seen:
            seen.add(frame)
            kept.append([frame[0], frame[1]])
    kept.reverse()
    return kept[-MAX_FRAMES:]


def exception_place(error: BaseException, test_files: list[str] | None, paths: Paths) -> Place:
    """file, line, message, details, frames of a failure.

    The place is the innermost project frame, except that a failed assert is placed on the
    test's own line (`test_files`) even when a helper elsewhere raised it. An exception that
    has no project frame (pytest's CollectError wrapping an ImportError) is placed by the
    exception it came from. A SyntaxError is placed where the bad code is.
    """
    linked = chain(error)
    errors = [each for each, _ in linked]
    frames: list[Frame] = []
    for each in errors:
        frames.extend(repo_frames(each, paths))
    culprit, place = None, None
    for candidate in reversed(errors):
        own = repo_frames(candidate, paths)
        if not own:
            continue
        culprit, place = candidate, own[-1]
        if test_files and isinstance(candidate, AssertionError):
            in_test = [
                (relative, line)
                for filename, line, _ in walk(candidate.__traceback__)
                if filename_in(filename, test_files)
                and (relative := paths.relative(filename)) is not None
            ]
            if in_test:
                place = in_test[-1]
        break
    if culprit is None:
        culprit = errors[-1]
    shown = linked[: errors.index(culprit) + 1]
    return {
        "file": place[0] if place else None,
        "line": place[1] if place else None,
        "message": message_of(culprit),
        "details": short_traceback(shown, paths),
        "frames": dedupe(frames),
    }


def filename_in(filename: str, files: list[str]) -> bool:
    absolute = os.path.abspath(filename)
    return absolute in files or os.path.realpath(filename) in files
