"""ruff's output → annotations: `ruff check` in every text format it has printed, and `ruff format`.

Rules: ruff has no severities, so every lint diagnostic is a `failure` titled with its rule code
("F401", "invalid-syntax") and its message, with " (fixable)" when ruff marks it `[*]` (a safe fix).
A file `ruff format --check` would change is a `warning` titled "ruff format" (on the first
changed line when ruff says which, else line 1); a `--diff` hunk is one `warning` over its lines.
Columns are 1-based as ruff prints them; `end_column` is the range's last character (inclusive),
known from the full format's `^^^` markers, `json`, `json-lines` and `github`, not from `concise`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from app.report.model import Annotation
from app.report.tools.common import Summary, Tool, ToolReport, at, clean, finish, plural

FORMAT_TITLE = "ruff format"
FIXABLE = " (fixable)"

_CODE = r"(?P<code>[A-Z]+[0-9]+|[A-Za-z]+(?:-[a-z]+)*:)"
# Full format, ruff ≥ 0.12, a header line then an arrow line:
#   "F401 [*] `os` imported but unused"  /  "invalid-syntax: Expected `)`, found newline"
#   " --> pkg/lint.py:1:8"
_HEADER = re.compile(
    r"^(?P<code>[A-Z]+[0-9]+|[a-z]+(?:-[a-z]+)*)(?P<fix> \[\*\])?:? (?P<message>\S.*)$"
)
_ARROW = re.compile(r"^\s*--> (?P<path>.+?):(?P<line>\d+):(?P<col>\d+)$")
# Concise format, and the first line of the full format before ruff 0.12:
#   "pkg/lint.py:1:8: F401 [*] `os` imported but unused"
#   "pkg/syntax.py:1:12: SyntaxError: Expected ')', found newline"
_LOCATED = re.compile(
    rf"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): {_CODE}(?P<fix> \[\*\])? (?P<message>.*)$"
)
# Grouped format: a "pkg/lint.py:" line, then "  1:8  F401 [*] `os` imported but unused" lines.
_GROUP = re.compile(r"^(?P<path>[^\s:][^:]*\.\w+):$")
_GROUPED = re.compile(
    rf"^\s+(?P<line>\d+):(?P<col>\d+)\s+{_CODE}(?P<fix> \[\*\])? (?P<message>.*)$"
)
# Pylint format: "pkg/lint.py:1: [F401] `os` imported but unused"
_PYLINT = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): \[(?P<code>[^\]]+)\] (?P<message>.*)$")
# GitHub format: "::error title=ruff (F401),file=/src/pkg/lint.py,line=1,col=8,endLine=1,
# endColumn=10::pkg/lint.py:1:8: F401 `os` imported but unused%0A  help: Remove unused import"
_GITHUB = re.compile(r"^::(?:error|warning|notice) (?P<props>.*?)::(?P<message>.*)$")
_GITHUB_MESSAGE = re.compile(rf"^(?:[^:]*:\d+:\d+: )?(?:{_CODE} )?(?P<message>.*)$", re.DOTALL)
# `ruff format --check` before 0.12: "Would reformat: pkg/lint.py"
_WOULD_REFORMAT = re.compile(r"^Would reformat: (?P<path>.+)$")
# `ruff format` on a file it cannot parse:
#   "error: Failed to parse pkg/syntax.py:1:12: Expected a parameter or the end of the parameter…"
_UNPARSABLE = re.compile(
    r"^error: Failed to parse (?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)$"
)
# `--diff`: "--- pkg/lint.py", "+++ pkg/lint.py", then hunks "@@ -9,6 +9,8 @@".
_DIFF_OLD = re.compile(r"^--- (?P<path>\S.*)$")
_HUNK = re.compile(r"^@@ -(?P<line>\d+)(?:,(?P<count>\d+))? \+\d+(?:,(?P<new>\d+))? @@")
# Snippet lines of the full formats: " --> …", "  |", "1 | import os", "  = help: …", "help: …".
_SNIPPET = re.compile(r"^(\s|\d+\s*[|+-]|(help|note|info|warning):)")
# In a snippet, the source line and the markers under it: "1 | import os", "  |        ^^ F401"
_SOURCE = re.compile(r"^\s*(?P<num>\d+) \|")
_CARETS = re.compile(r"^\s*\| (?P<pad> *)(?P<carets>\^+)(?: .*)?$")
# What ruff says when it cannot run: "error: …", or "ruff failed" then "  Cause: …" lines.
_FAILED = re.compile(r"^(error: |ruff failed)")
_CAUSE = re.compile(r"^\s+Cause: ")

Matched = tuple[list[Annotation], int]


def report(output: str, command: str, root: str) -> ToolReport:
    return finish("ruff", parse(output, command), root, summary(output))


def parse(output: str, command: str = "") -> Iterator[Annotation]:
    lines = clean(output)
    items = _json_items(lines)
    if items is not None:
        yield from (a for item in items if (a := _from_json(item)) is not None)
        return
    diff_title = FORMAT_TITLE if " format" in f" {command} " else "ruff --fix"
    matchers: list[Callable[[list[str], int], Matched | None]] = [
        _full,
        _located,
        _grouped,
        _pylint,
        _github,
        _format_check,
        lambda lines, i: _diff(lines, i, diff_title),
    ]
    i = 0
    while i < len(lines):
        for matcher in matchers:
            matched = matcher(lines, i)
            if matched is not None:
                found, i = matched
                yield from found
                break
        else:
            i += 1


def summary(output: str) -> Summary:
    lines = clean(output)
    failure = next((line for line in lines if _FAILED.match(line)), "")
    causes = [line.strip().removeprefix("Cause: ") for line in lines if _CAUSE.match(line)]
    if failure and causes:
        failure = f"{failure}: {'; '.join(causes)}"[:300]

    def say(kept: Sequence[Annotation], more: int) -> str:
        problems = [a for a in kept if a.title != FORMAT_TITLE]
        unformatted = {a.path for a in kept if a.title == FORMAT_TITLE}
        fixable = sum(1 for a in problems if a.message.endswith(FIXABLE))
        parts = []
        if problems or more:
            count = plural(len(problems) + more, "problem")
            parts.append(count + (f" ({fixable} fixable)" if fixable else ""))
        if unformatted:
            parts.append(f"{plural(len(unformatted), 'file')} would be reformatted")
        return "ruff: " + (", ".join(parts) or failure or "no problems")

    return say


def _diagnostic(
    path: str, line: int, column: int, code: str, message: str, fixable: bool, **more: Any
) -> Annotation:
    code = code.removesuffix(":")
    code = "invalid-syntax" if code == "SyntaxError" else code  # its name before ruff 0.12
    if code == "unformatted":
        return at(path, line, "warning", message, FORMAT_TITLE, details=more.get("details"))
    text = message + (FIXABLE if fixable else "")
    return at(path, line, "failure", text, code, column=column, **more)


def _full(lines: list[str], i: int) -> Matched | None:
    """Full format since ruff 0.12: header, arrow, snippet up to a blank line."""
    header = _HEADER.match(lines[i])
    arrow = _ARROW.match(lines[i + 1]) if header and i + 1 < len(lines) else None
    if header is None or arrow is None:
        return None
    end = _snippet_end(lines, i + 2)
    line, column = int(arrow["line"]), int(arrow["col"])
    found = _diagnostic(
        arrow["path"],
        line,
        column,
        header["code"],
        header["message"],
        bool(header["fix"]),
        end_column=_end_column(lines[i + 2 : end], line, column),
        details="\n".join(lines[i:end]),
    )
    return [found], end


def _located(lines: list[str], i: int) -> Matched | None:
    """Concise lines, and the full format before ruff 0.12 (the same line, then a snippet)."""
    match = _LOCATED.match(lines[i])
    if match is None:
        return None
    end = _snippet_end(lines, i + 1)
    line, column = int(match["line"]), int(match["col"])
    snippet = lines[i + 1 : end]
    found = _diagnostic(
        match["path"],
        line,
        column,
        match["code"],
        match["message"],
        bool(match["fix"]),
        end_column=_end_column(snippet, line, column),
        details="\n".join(lines[i:end]) if snippet else None,
    )
    return [found], end


def _grouped(lines: list[str], i: int) -> Matched | None:
    group = _GROUP.match(lines[i])
    if group is None:
        return None
    found = []
    i += 1
    while i < len(lines) and (entry := _GROUPED.match(lines[i])):
        line, column = int(entry["line"]), int(entry["col"])
        code, message, fixable = entry["code"], entry["message"], bool(entry["fix"])
        found.append(_diagnostic(group["path"], line, column, code, message, fixable))
        i += 1
    return (found, i) if found else None


def _pylint(lines: list[str], i: int) -> Matched | None:
    match = _PYLINT.match(lines[i])
    if match is None:
        return None
    found = at(match["path"], int(match["line"]), "failure", match["message"], match["code"])
    return [found], i + 1


def _github(lines: list[str], i: int) -> Matched | None:
    match = _GITHUB.match(lines[i])
    if match is None:
        return None
    props = dict(
        part.split("=", 1) for part in match["props"].split(",") if "=" in part
    )  # title=ruff (F401),file=…,line=1,col=8,endLine=1,endColumn=10
    props = {key: _unescape(value) for key, value in props.items()}
    if "file" not in props or not props.get("line", "").isdigit():
        return None
    text = _GITHUB_MESSAGE.match(_unescape(match["message"]))
    assert text is not None  # the pattern matches any text
    message, _, details = text["message"].partition("\n")
    code = re.search(r"\((?P<code>[^)]+)\)$", props.get("title", ""))
    line = int(props["line"])
    found = at(
        props["file"],
        line,
        "failure",
        message,
        code["code"] if code else (text["code"] or "ruff").removesuffix(":"),
        column=_int(props.get("col")),
        end_line=_int(props.get("endLine")) or line,
        end_column=_inclusive(_int(props.get("col")), _int(props.get("endColumn"))),
        details=details.strip() or None,
    )
    return [found], i + 1


def _format_check(lines: list[str], i: int) -> Matched | None:
    """`ruff format --check` before ruff 0.12, and files it could not parse."""
    if match := _WOULD_REFORMAT.match(lines[i]):
        found = at(match["path"], 1, "warning", "File would be reformatted", FORMAT_TITLE)
        return [found], i + 1
    if match := _UNPARSABLE.match(lines[i]):
        line, column = int(match["line"]), int(match["col"])
        found = at(
            match["path"], line, "failure", match["message"], "invalid-syntax", column=column
        )
        return [found], i + 1
    return None


def _diff(lines: list[str], i: int, title: str) -> Matched | None:
    """`--diff`: one warning per hunk, over the lines it changes in the original file."""
    old = _DIFF_OLD.match(lines[i])
    if old is None or i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
        return None
    found = []
    i += 2
    while i < len(lines) and (hunk := _HUNK.match(lines[i])):
        end = _hunk_end(lines, i + 1, int(hunk["count"] or 1), int(hunk["new"] or 1))
        first, count = int(hunk["line"]), int(hunk["count"] or 1)
        verb = "change" if title == FORMAT_TITLE else "fix"
        found.append(
            at(
                old["path"],
                first,
                "warning",
                f"ruff would {verb} these lines",
                title,
                end_line=first + max(count, 1) - 1,
                details="\n".join(lines[i:end]),
            )
        )
        i = end
    return found, i


def _hunk_end(lines: list[str], i: int, old: int, new: int) -> int:
    """Past the hunk's lines: `old` lines of the original and `new` of the result."""
    while i < len(lines) and (old > 0 or new > 0):
        mark = lines[i][:1]
        if mark not in ("", " ", "-", "+", "\\"):
            break
        old -= mark in ("", " ", "-")
        new -= mark in ("", " ", "+")
        i += 1
    return i


def _snippet_end(lines: list[str], i: int) -> int:
    while i < len(lines) and lines[i] and _SNIPPET.match(lines[i]):
        i += 1
    return i


def _end_column(snippet: list[str], line: int, column: int) -> int | None:
    """The last column the `^^^` markers under the diagnostic's line cover, if they line up."""
    for k, text in enumerate(snippet[:-1]):
        source = _SOURCE.match(text)
        if source is None or int(source["num"]) != line:
            continue
        carets = _CARETS.match(snippet[k + 1])
        if carets is None or len(carets["pad"]) + 1 != column:
            return None
        return column + len(carets["carets"]) - 1
    return None


def _json_items(lines: list[str]) -> list[Any] | None:
    """`--output-format=json` (one array) or `json-lines` (one object a line), else None."""
    text = "\n".join(lines).strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, list) else None
    first = next((line for line in lines if line.strip()), "")
    if not first.startswith("{"):
        return None
    items = []
    for line in lines:
        if line.startswith("{"):
            try:
                items.append(json.loads(line))
            except ValueError:
                continue
    return items or None


def _from_json(item: Any) -> Annotation | None:
    if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
        return None
    start, end = item.get("location") or {}, item.get("end_location") or {}
    line, column = _int(start.get("row")), _int(start.get("column"))
    if line is None:
        return None
    end_line = _int(end.get("row")) or line
    fix: dict[str, Any] = item["fix"] if isinstance(item.get("fix"), dict) else {}
    fixable = str(fix.get("applicability", "")).lower() in ("safe", "automatic")
    message = str(item.get("message", ""))
    code = item.get("code") or ("invalid-syntax" if message.startswith("SyntaxError") else "ruff")
    help_text = f"help: {fix['message']}" if fix.get("message") else ""
    return _diagnostic(
        item["filename"],
        line,
        column or 1,
        str(code),
        message.removeprefix("SyntaxError: "),
        fixable,
        end_line=end_line,
        end_column=_inclusive(column, _int(end.get("column"))) if end_line == line else None,
        details="\n".join(filter(None, [help_text, str(item.get("url") or "")])) or None,
    )


def _inclusive(start: int | None, end_exclusive: int | None) -> int | None:
    """ruff's ends are one past the range; GitHub's here are the last character."""
    if start is None or end_exclusive is None:
        return None
    return max(end_exclusive - 1, start)


def _int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _unescape(text: str) -> str:
    """GitHub workflow-command escaping: %25 %0D %0A %3A %2C."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


TOOL = Tool("ruff", ("ruff",), report)
