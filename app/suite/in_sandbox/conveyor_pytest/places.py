"""A test's place: from its exception (an assert, a doctest's example) or its skip or xfail
reason, made where the traceback is at hand (the makereport wrapper)."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from .paths import Paths, rootdir
from .printed import report_text
from .tracebacks import (
    DETAILS_CHARS,
    MESSAGE_CHARS,
    cap,
    chain,
    dedupe,
    exception_place,
    message_of,
    repo_frames,
    short_traceback,
    strip_prefix,
)

if TYPE_CHECKING:
    from _pytest.nodes import Item
    from _pytest.reports import TestReport
    from _pytest.runner import CallInfo

    from .tracebacks import Frame, Place


def test_files(item: Item) -> list[str]:
    """The files a failed assert is placed in: the test's module and where the test function
    is defined (an inherited test lives in another file)."""
    files = []
    path = getattr(item, "path", None) or getattr(item, "fspath", None)
    if path is not None:
        files.append(os.path.abspath(str(path)))
    function = getattr(item, "function", None)
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is not None:
        files.append(os.path.abspath(code.co_filename))
    return files + [os.path.realpath(f) for f in files]


def test_place(item: Item, call: CallInfo[None], report: TestReport, paths: Paths) -> Place:
    excinfo = call.excinfo
    file, line = item_location(item, paths)
    base: Place = {"file": file, "line": line, "message": "", "details": "", "frames": []}
    reason = getattr(report, "wasxfail", None)
    if report.outcome == "skipped" and reason is None:
        # The reason is the end of pytest's (path, line, "Skipped: reason") tuple.
        longrepr = report.longrepr
        text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
        base["message"] = strip_prefix(str(text), "Skipped: ")
        return base
    if reason is not None:
        base["message"] = strip_prefix(str(reason), "reason: ")
        if not base["message"] and excinfo is not None and report.outcome == "skipped":
            base["message"] = message_of(excinfo.value)
        return base
    if excinfo is None:
        # A failure without an exception: a strict XPASS, or a plugin's own report.
        base["message"] = cap(report_text(report).strip(), MESSAGE_CHARS)
        return base
    error = excinfo.value
    # A doctest raises doctest's DocTestFailure / UnexpectedException for its first failing
    # example, or pytest's MultipleDoctestFailures with --doctest-continue-on-failure.
    failures = getattr(error, "failures", None)
    if type(error).__name__ == "MultipleDoctestFailures" and failures:
        return doctest_place(failures, base, paths)
    if hasattr(error, "test") and hasattr(error, "example"):
        return doctest_place([error], base, paths)
    place = exception_place(error, test_files(item) if call.when == "call" else None, paths)
    if place["file"] is None:
        place["file"], place["line"] = file, line
    return place


def item_location(item: Item, paths: Paths) -> tuple[str | None, int | None]:
    with contextlib.suppress(Exception):  # a plugin's item may have no usable reportinfo
        path, lineno = item.reportinfo()[:2]
        file = paths.relative(str(path))
        if file is not None:
            return file, (int(lineno) + 1 if isinstance(lineno, int) else 1)
    relpath, lineno = item.location[0], item.location[1]
    file = paths.relative(os.path.join(rootdir(item.config), relpath))
    return file, (int(lineno) + 1 if file and isinstance(lineno, int) else None)


def doctest_place(failures: Any, base: Place, paths: Paths) -> Place:
    """A doctest fails on an example: its line is the docstring's line plus the example's."""
    frames: list[Frame] = []
    messages, details = [], []
    for failure in list(failures)[:10]:
        test, example = failure.test, failure.example
        file = paths.relative(test.filename or "")
        line = None
        if test.lineno is not None:
            line = test.lineno + example.lineno + 1
        source = "\n".join(">>> " + s for s in example.source.rstrip("\n").splitlines())
        exc_info = getattr(failure, "exc_info", None)
        if exc_info is not None:
            error = exc_info[1]
            text = source + "\n" + message_of(error)
            detail = source + "\n" + short_traceback(chain(error), paths)
        else:
            got = getattr(failure, "got", "")
            text = f"{source}\nExpected:\n{indent(example.want)}Got:\n{indent(got)}"
            detail = text
        if file is not None and line is not None:
            frames.append((file, line))
            detail = f"{file}:{line}\n{detail}"
        if exc_info is not None:
            frames.extend(repo_frames(exc_info[1], paths))
        messages.append(text.strip())
        details.append(detail)
    place = dict(base)
    if frames:
        place["file"], place["line"] = frames[0]
    place["message"] = cap(messages[0] if messages else "doctest failed", MESSAGE_CHARS)
    place["details"] = cap("\n\n".join(details), DETAILS_CHARS)
    place["frames"] = dedupe(frames)
    return place


def indent(text: str) -> str:
    return "".join("    " + line + "\n" for line in (text or "").splitlines()) or "    <nothing>\n"
