"""flake8's output → annotations (the default format, `--format=pylint`, `--show-source`).

Level: the codes flake8's own documentation and GitHub's starter Python workflow treat as errors
that stop the build (`--select=E9,F63,F7,F82`: syntax errors, invalid comparisons and statements,
undefined names: the code cannot run as written) are `failure`; every other code (style, unused
imports, complexity, plugins) is a `warning`. Both show in "Files changed"; the check itself
fails or passes on flake8's exit code, not on these levels. Title: the code ("E501"). Column: as
flake8 prints it (1-based); flake8 gives no end column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from app.report.model import Annotation, Level
from app.report.tools.common import Tool, ToolReport, at, clean, finish, plural

ERROR_PREFIXES = ("E9", "F63", "F7", "F82")

# Default format: "./pkg/lint.py:2:11: E401 multiple imports on one line"
_DEFAULT = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+[0-9]+) (?P<message>.*)$"
)
# Pylint format: "./pkg/lint.py:2: [E401] multiple imports on one line"
_PYLINT = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): \[(?P<code>[A-Z]+[0-9]+)\] (?P<message>.*)$"
)
# `--show-source` prints the line, then a marker under the column: "        ^"
_MARKER = re.compile(r"^\s*\^$")


def level(code: str) -> Level:
    return "failure" if code.startswith(ERROR_PREFIXES) else "warning"


def report(output: str, _command: str, root: str) -> ToolReport:
    return finish("flake8", parse(output), root, summary)


def parse(output: str) -> Iterator[Annotation]:
    lines = clean(output)
    for i, line in enumerate(lines):
        match = _DEFAULT.match(line) or _PYLINT.match(line)
        if match is None:
            continue
        source = lines[i + 1 : i + 3]
        shown = len(source) == 2 and _MARKER.match(source[1]) is not None
        column = int(match["col"]) if "col" in match.groupdict() else None
        yield at(
            match["path"],
            int(match["line"]),
            level(match["code"]),
            match["message"],
            match["code"],
            column=column or None,
            details="\n".join(source) if shown else None,
        )


def summary(kept: Sequence[Annotation], more: int) -> str:
    if not kept and not more:
        return "flake8: no problems"
    errors = sum(1 for a in kept if a.level == "failure")
    said = f" ({errors} syntax errors or undefined names)" if errors else ""
    return f"flake8: {plural(len(kept) + more, 'problem')}{said}"


TOOL = Tool("flake8", ("flake8",), report)
