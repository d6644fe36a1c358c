"""Without an exception at hand (reports this plugin did not make, collection errors): the
place read from what pytest's report prints."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .paths import Paths
from .tracebacks import DETAILS_CHARS, MESSAGE_CHARS, cap, dedupe, strip_prefix

if TYPE_CHECKING:
    from _pytest.reports import TestReport

    from .tracebacks import Frame, Place


def report_text(report: Any) -> str:
    try:
        return str(report.longreprtext)
    except Exception:
        return str(getattr(report, "longrepr", "") or "")


def report_place(report: TestReport, paths: Paths) -> Place:
    """For reports this plugin did not make (subtests, other plugins): pytest's own repr."""
    longrepr = report.longrepr
    if report.outcome == "skipped" or hasattr(report, "wasxfail"):
        text = ""
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            text = str(longrepr[2])
        message = strip_prefix(text, "Skipped: ") or str(getattr(report, "wasxfail", ""))
        return {"message": message, "details": "", "frames": []}
    if report.outcome == "passed":
        return {"message": "", "details": "", "frames": []}
    place = text_place(report_text(report), paths)
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        place["message"] = cap(str(crash.message), MESSAGE_CHARS)
    return place


def text_place(text: str, paths: Paths) -> Place:
    """`path:line: ...` lines of a printed traceback; the innermost in the project wins."""
    import re

    frames: list[Frame] = []
    for match in re.finditer(r"^(\S[^:\n]*):(\d+):", text, flags=re.MULTILINE):
        name = match.group(1)
        relative = paths.relative(name if os.path.isabs(name) else os.path.abspath(name))
        if relative is not None:
            frames.append((relative, int(match.group(2))))
    errors = [line[4:] for line in text.splitlines() if line.startswith("E   ")]
    message = "\n".join(errors) or (text.strip().splitlines() or [""])[-1]
    return {
        "file": frames[-1][0] if frames else None,
        "line": frames[-1][1] if frames else None,
        "message": cap(message, MESSAGE_CHARS),
        "details": text[-DETAILS_CHARS:],
        "frames": dedupe(frames),
    }
