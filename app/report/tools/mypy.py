"""mypy's output → annotations: the default format with or without columns, error ends, error
codes, `--pretty` (wrapped messages, source snippets) and `--output json`.

Level: `error` → failure, `warning` → warning. Title: "mypy [code]" ("mypy" under
`--hide-error-codes`). Columns: 1-based, as `--show-column-numbers` prints them; `end_column`
(with `--show-error-end` or json) is the range's last character. A `note:` at the same place as
the error before it, or a "… defined here" note right after it, goes into that error's
`raw_details`; a note of its own (`reveal_type`, `annotation-unchecked`) is a `notice`; the
context notes of `--show-error-context` ("In function …", no line) are dropped, as are the
snippets of `--pretty`. An error without a line ("Source file found twice…") is on line 1.
mypy's closing line ("Found 3 errors in 1 file …") is the summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.report.model import Annotation, Level
from app.report.tools.common import Summary, Tool, ToolReport, at, clean, finish, plural

# "pkg/typed.py:6: error: Incompatible types in assignment (…)  [assignment]"
# "pkg/typed.py:6:12: error: …" (--show-column-numbers), "pkg/typed.py:6:12:6:22: error: …"
# (--show-error-end), "pkg/typed.py: note: In function "bad":" (--show-error-context, no line).
_MESSAGE = re.compile(
    r"^(?P<path>[^\s:][^:]*?)"
    r"(?::(?P<line>-?\d+)(?::(?P<col>\d+)(?::(?P<eline>\d+):(?P<ecol>\d+))?)?)?"
    r": (?P<severity>error|warning|note): (?P<message>.*)$"
)
# The error code at the end of a message: "…has no attribute "attr"  [union-attr]"
_CODE = re.compile(r"\s+\[(?P<code>[a-z][a-z0-9-]*)\]$")
# The last line: "Found 7 errors in 1 file (checked 2 source files)", "Success: no issues found…"
_TOTAL = re.compile(r"^(Found \d+ errors? in \d+ files?\b.*|Success: .*)$")
# What mypy says when it cannot run: "mypy: can't read file 'x': No such file or directory"
_FAILED = re.compile(r"^(mypy: |error: )")
# A `--pretty` snippet line: four spaces then the source, or the "^~~~" marker under it.
_SNIPPET = "    "
_REVEALED = ("Revealed type is", "Revealed local types are")
_LEVELS: dict[str, Level] = {"error": "failure", "warning": "warning", "note": "notice"}


@dataclass
class _Message:
    """One message being read: `--pretty` may wrap it, and notes may follow it."""

    match: re.Match[str]
    parts: list[str] = field(default_factory=list)  # `--pretty`'s wrapped lines
    notes: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # lines that may be wrapped ones
    closed: bool = False  # nothing more of its text can follow

    def __post_init__(self) -> None:
        self.closed = self.match["severity"] == "note"  # only errors are wrapped

    def place(self) -> tuple[str, str | None]:
        return self.match["path"], self.match["line"]

    def annotation(self) -> Annotation | None:
        path, line = self.place()
        if line is None and not path.endswith((".py", ".pyi")):
            return None  # not a file: "mypy: error: …"
        text = " ".join([self.match["message"].strip(), *self.parts])
        code = _CODE.search(text)
        message = text[: code.start()] if code else text
        column, end_line, end_column = _int(self.match["col"]), _int(self.match["eline"]), None
        if column is not None and end_line == _int(line):
            end_column = _int(self.match["ecol"])
        return at(
            path,
            _int(line) or 1,
            _LEVELS[self.match["severity"]],
            message,
            f"mypy [{code['code']}]" if code else "mypy",
            column=column,
            end_line=end_line,
            end_column=end_column,
            details="\n".join(self.notes) or None,
        )


def report(output: str, _command: str, root: str) -> ToolReport:
    return finish("mypy", parse(output), root, summary(output))


def parse(output: str) -> Iterator[Annotation]:
    lines = clean(output)
    if any(line.startswith("{") for line in lines[:5]):
        yield from (a for line in lines if (a := _from_json(line)) is not None)
        return
    current: _Message | None = None
    for line in lines:
        match = _MESSAGE.match(line)
        if match is None:
            if current is not None:
                _more(current, line)
            continue
        if match["severity"] == "note" and (_attach(current, match) or match["line"] is None):
            continue  # now part of the message before it, or a context note ("In function…")
        if current is not None and (done := current.annotation()) is not None:
            yield done
        current = _Message(match)
    if current is not None and (done := current.annotation()) is not None:
        yield done


def summary(output: str) -> Summary:
    lines = clean(output)
    total = next((line for line in reversed(lines) if _TOTAL.match(line)), "")
    unplaced = next((line for line in lines if _FAILED.match(line) or _unplaced(line)), "")

    def say(kept: Sequence[Annotation], more: int) -> str:
        errors = sum(1 for a in kept if a.level != "notice") + more
        head = total or (plural(errors, "error") if errors or not unplaced else "")
        tail = unplaced if not kept and not more else ""  # why mypy stopped, if nothing says
        return "mypy: " + ": ".join(part for part in (head, tail) if part)

    return say


def _unplaced(line: str) -> bool:
    """An error about no source file: "nowhere: error: Cannot read file: No such file…"."""
    match = _MESSAGE.match(line)
    return bool(match and match["severity"] == "error" and _Message(match).annotation() is None)


def _attach(current: _Message | None, note: re.Match[str]) -> bool:
    """Add the note to the error before it when it belongs there; say whether it did."""
    if current is None or current.match["severity"] == "note":
        return False
    same_place = current.place() == (note["path"], note["line"])
    message = note["message"]
    if same_place and not message.startswith(_REVEALED):
        current.notes.append(f"note: {message}")
    elif message.rstrip().endswith("defined here"):
        current.notes.append(f"{note['path']}:{note['line']}: note: {message}")
    else:
        return False
    current.closed = True
    return True


def _more(current: _Message, line: str) -> None:
    """A line after a message: `--pretty`'s wrapped text, its snippet, or something else.

    A line is only known to be wrapped text once the snippet follows it; until then it waits.
    """
    if current.closed:
        return
    if line.startswith(_SNIPPET):
        current.parts.extend(current.pending)
        current.closed = True
    elif line and not _TOTAL.match(line):
        current.pending.append(line.strip())
    else:
        current.closed = True


def _from_json(line: str) -> Annotation | None:
    """`--output json`: {"file", "line", "column" (0-based), "end_line", "end_column", "message",
    "hint", "code", "severity"}."""
    try:
        item: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        return None
    line_number, column = _int(item.get("line")) or 1, _int(item.get("column"))
    end_line, end_column = _int(item.get("end_line")), _int(item.get("end_column"))
    code = item.get("code")
    return at(
        item["file"],
        line_number,
        _LEVELS.get(str(item.get("severity")), "failure"),
        str(item.get("message", "")),
        f"mypy [{code}]" if code else "mypy",
        column=column + 1 if column is not None else None,
        end_line=end_line,
        end_column=end_column if end_line == line_number and column is not None else None,
        details=str(item["hint"]) if item.get("hint") else None,
    )


def _int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _checks(words: Sequence[str]) -> bool:
    """`dmypy run -- …` and `dmypy check` print what mypy prints; `dmypy stop` does not."""
    return words[0] != "dmypy" or (len(words) > 1 and words[1] in ("run", "check", "recheck"))


TOOL = Tool("mypy", ("mypy", "dmypy"), report, _checks)
