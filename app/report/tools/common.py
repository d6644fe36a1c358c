"""What every tool parser shares: the report type, path clean-up and the GitHub limits."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from app.report import limits
from app.report.junit import TestResults
from app.report.model import Annotation, Level

SANDBOX_ROOT = "/conveyor/src"  # the repository's place inside the sandbox (see app/suite)
# Beyond what a check run is ever sent, annotations are only counted.
MAX_ANNOTATIONS = limits.ANNOTATIONS_SENT
MAX_BLOB_BYTES = limits.ANNOTATION_BLOB_BYTES  # GitHub's limit for `message` and `raw_details`
MAX_TITLE_CHARS = limits.TITLE_CHARS
TRUNCATED = "\n… (truncated)"

# A tool's one-line summary from the annotations kept and how many more it found (outside the
# repository, or past MAX_ANNOTATIONS).
Summary = Callable[[Sequence[Annotation], int], str]

# Colour and cursor escapes, when a tool is forced to colour: "\x1b[1;31mFailed\x1b[0m",
# and the charset resets curses adds ("\x1b(B\x1b[m": mypy).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]")
# Folders of installed code, never the repository's own: ".venv/lib/python3.11/site-packages".
_INSTALLED = re.compile(r"(^|/)(site-packages|dist-packages|lib/python\d[\d.]*)(/|$)")


@dataclass(frozen=True)
class ToolReport:
    tool: str  # "ruff", "flake8", "mypy", "pre-commit", "unittest"
    annotations: tuple[Annotation, ...]
    results: TestResults | None = None  # unittest only: the tests, with outcomes and places
    summary: str = ""  # one line, e.g. "ruff: 12 problems (3 fixable)"


@dataclass(frozen=True)
class Tool:
    """One tool whose output is read: what runs it, and its reader."""

    name: str  # "ruff": the report's `tool`
    programs: tuple[str, ...]  # the executables and modules that run it: "ruff", "prek"
    # Its report from what a command printed: (output, command, root) → report.
    read: Callable[[str, str, str], ToolReport]
    # Whether a command (its program's name first) runs the tool's checks, not another of its
    # subcommands (`pre-commit install`, `dmypy stop`).
    checks: Callable[[Sequence[str]], bool] = lambda _words: True


def clean(output: str) -> list[str]:
    """The output's lines without colour codes, carriage returns or trailing spaces."""
    text = _ANSI.sub("", output).replace("\r\n", "\n").replace("\r", "\n")
    return [line.rstrip() for line in text.split("\n")]


def relative(path: str, root: str = SANDBOX_ROOT) -> str | None:
    """`path` relative to the repository, or None when it is outside (or not a file path)."""
    path = path.strip().strip('"')
    if not path or path.startswith("<"):
        return None
    if path.startswith("/"):
        prefix = root.rstrip("/") + "/"
        if not path.startswith(prefix):
            return None
        path = path[len(prefix) :]
    path = posixpath.normpath(path)
    if path in (".", "") or path.startswith("../") or path == "..":
        return None
    return path


def is_installed(path: str) -> bool:
    """A file of an installed package (site-packages, the standard library), not the project's."""
    return bool(_INSTALLED.search(path))


def cut_bytes(text: str, limit: int = MAX_BLOB_BYTES) -> str:
    return limits.keep_head(text, limit, TRUNCATED)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def fit(annotation: Annotation, root: str) -> Annotation | None:
    """Within GitHub's rules: repository path, 1-based lines, columns on one line, sizes."""
    path = relative(annotation.path, root)
    if path is None:
        return None
    start = max(annotation.start_line, 1)
    end = max(annotation.end_line, start)
    first = annotation.start_column if start == end else None
    last = annotation.end_column if first is not None else None
    if first is not None and first < 1:
        first = last = None
    if first is not None and last is not None and last < first:
        last = first
    details = annotation.raw_details
    return replace(
        annotation,
        path=path,
        start_line=start,
        end_line=end,
        message=cut_bytes(annotation.message.strip() or "(no message)"),
        title=annotation.title[:MAX_TITLE_CHARS] if annotation.title else None,
        raw_details=cut_bytes(details) if details and details.strip() else None,
        start_column=first,
        end_column=last,
    )


def finish(
    tool: str,
    found: Iterable[Annotation],
    root: str,
    summary: Summary,
    results: TestResults | None = None,
) -> ToolReport:
    """Fit and cap the annotations, then say in the summary what was left out."""
    kept: list[Annotation] = []
    outside = dropped = 0
    for annotation in found:
        fitted = fit(annotation, root)
        if fitted is None:
            outside += 1
        elif len(kept) >= MAX_ANNOTATIONS:
            dropped += 1
        else:
            kept.append(fitted)
    notes = []
    if outside:
        notes.append(f"{outside} outside the repository not annotated")
    if dropped:
        notes.append(f"{dropped} more not annotated (at most {MAX_ANNOTATIONS})")
    text = summary(kept, outside + dropped).replace(root.rstrip("/") + "/", "")
    text = "; ".join([text, *notes])
    return ToolReport(tool=tool, annotations=tuple(kept), results=results, summary=text)


def at(
    path: str,
    line: int,
    level: Level,
    message: str,
    title: str | None,
    *,
    column: int | None = None,
    end_line: int | None = None,
    end_column: int | None = None,
    details: str | None = None,
) -> Annotation:
    """An annotation, unfitted: the path is still as the tool printed it."""
    return Annotation(
        path=path,
        start_line=line,
        end_line=end_line if end_line is not None else line,
        level=level,
        message=message,
        title=title,
        raw_details=details,
        start_column=column,
        end_column=end_column,
    )
