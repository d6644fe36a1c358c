"""`pre-commit run` output → annotations, hook by hook.

pre-commit prints one result line per hook ("ruff.....Failed"); for a failed hook (and for every
hook with `--verbose`) it adds "- hook id: X", "- exit code: N", "- files were modified by this
hook", then the hook's own output. Each hook's output goes to the parser of the tool its id names
(`ruff`/`ruff-check`, `ruff-format`, `flake8`, `mypy`); any other hook to the first of mypy's,
ruff's and the generic parser that finds something. The generic parser reads what the
pre-commit-hooks collection prints: "Fixing path" (a `warning` on line 1: the hook rewrites that
file), "path:line[:col]: message", "path: message" (a `failure`, on the line a JSON/TOML error
names, else line 1) and check-yaml's 'in "path", line N, column M' marks.

Every annotation is titled "pre-commit: <hook id>"; the tool's own title (the rule code) starts
the message ("F401: `os` imported but unused"). Levels and columns are the tool parser's.
The summary names the failed hooks, and which of them modified files. The `git diff` that
`--show-diff-on-failure` prints at the end is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from app.report.model import Annotation
from app.report.tools import flake8, mypy, ruff
from app.report.tools.common import Tool, ToolReport, at, clean, finish

# "trim trailing whitespace.................................................Failed",
# "no files.............................................(no files to check)Skipped"
_HOOK = re.compile(r"^(?P<name>.*?)\.+(?:\((?P<why>[^()]*)\))?(?P<status>Passed|Failed|Skipped)$")
# "- hook id: ruff", "- exit code: 1", "- files were modified by this hook", "- duration: 0.1s"
_META = re.compile(
    r"^- (?P<key>hook id|exit code|duration|files were modified by this hook)(: .*)?$"
)
# `--show-diff-on-failure` ends the output with `git diff`, after one of these lines.
_DIFF_FOLLOWS = ("pre-commit hook(s) made changes.", "All changes made by hooks:")
# What Conveyor's wrapper (app/suite/in_sandbox/conveyor_pre_commit.py) says first when hooks
# were left out: "conveyor: pre-commit hooks could not be fetched: github.com unreachable (…)".
_NOT_FETCHED = "conveyor: pre-commit hooks could not be fetched: "
# What pre-commit says when it cannot run: "An error has occurred: …", "[ERROR] …"
_FAILED = re.compile(r"^(An error has occurred|An unexpected error has occurred|\[ERROR\])")

# Generic hooks. "Fixing pkg/ws.py" (trailing-whitespace, end-of-file-fixer, mixed-line-ending…)
_FIXING = re.compile(r"^Fixing (?P<path>\S.*)$")
# "pkg/x.py:3:1: pdb imported", "pkg/x.py:3: Merge conflict string '<<<<<<< ' found"
_LOCATED = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<message>.*)$")
# check-yaml, after the error's text: '  in "config.yaml", line 3, column 5'
_YAML_MARK = re.compile(r'^\s+in "(?P<path>[^"]+)", line (?P<line>\d+), column (?P<col>\d+)$')
# "data.json: Failed to json decode (…: line 3 column 5 (char 20))", "pkg/x.py - Could not parse
# ast", "big.bin (1024 KB) exceeds 500 KB.": a file-looking path, then what is wrong with it.
_PATH_MESSAGE = re.compile(
    r"^(?P<path>(?:[\w.-]+/)*[\w.-]+\.\w+)(?::\s|\s-\s|\s(?=\())(?P<message>.+)$"
)
# Where a JSON or TOML error is: "… line 3 column 5 …", "(at line 3, column 5)"
_LINE_IN = re.compile(r"\bline (?P<line>\d+),? column (?P<col>\d+)")

Parser = Callable[[str], Iterator[Annotation]]
_PARSERS: dict[str, Parser] = {
    "ruff": lambda text: ruff.parse(text, "ruff check"),
    "ruff-check": lambda text: ruff.parse(text, "ruff check"),
    "ruff-format": lambda text: ruff.parse(text, "ruff format"),
    "flake8": flake8.parse,
    "mypy": mypy.parse,
}


@dataclass(frozen=True)
class Hook:
    name: str
    status: str  # "Passed", "Failed", "Skipped"
    hook_id: str
    modified: bool
    output: str


def report(output: str, _command: str, root: str) -> ToolReport:
    lines = clean(output)
    hooks = hooks_of(lines)
    found = (a for hook in hooks for a in _annotations(hook))
    return finish("pre-commit", found, root, lambda _kept, _more: _summary(hooks, lines))


def hooks_of(lines: Sequence[str]) -> list[Hook]:
    diff = next((i for i, line in enumerate(lines) if line.startswith(_DIFF_FOLLOWS)), None)
    lines = lines[:diff]
    starts = [i for i, line in enumerate(lines) if _HOOK.match(line)]
    ends = [*starts[1:], len(lines)] if starts else []
    return [_hook(lines[start:end]) for start, end in zip(starts, ends, strict=True)]


def _hook(lines: Sequence[str]) -> Hook:
    """A hook's result line, its "- key: value" lines, then its output."""
    header = _HOOK.match(lines[0])
    assert header is not None
    meta = 1
    while meta < len(lines) and _META.match(lines[meta]):
        meta += 1
    facts = dict(_fact(line) for line in lines[1:meta])
    name = header["name"].strip()
    return Hook(
        name=name,
        status=header["status"],
        hook_id=facts.get("hook id") or name,
        modified="files were modified by this hook" in facts,
        output="\n".join(lines[meta:]).strip("\n"),
    )


def _fact(line: str) -> tuple[str, str]:
    key, _, value = line.removeprefix("- ").partition(": ")
    return key, value.strip()


def _annotations(hook: Hook) -> Iterator[Annotation]:
    if not hook.output.strip():
        return
    parser = _PARSERS.get(hook.hook_id)
    if parser is not None:
        found = list(parser(hook.output))
    else:
        guesses: list[Parser] = [mypy.parse, ruff.parse, lambda t: generic(t, hook.name)]
        found = next((f for guess in guesses if (f := list(guess(hook.output)))), [])
    for annotation in found:
        yield _retitled(annotation, hook.hook_id)


def _retitled(annotation: Annotation, hook_id: str) -> Annotation:
    """Title "pre-commit: <hook id>"; the tool's own title ("F401", "mypy [arg-type]") leads the
    message."""
    code = (annotation.title or "").removeprefix("mypy").strip(" []")
    message = f"{code}: {annotation.message}" if code else annotation.message
    return replace(annotation, title=f"pre-commit: {hook_id}", message=message)


def generic(output: str, hook: str = "pre-commit") -> Iterator[Annotation]:
    """What hooks like pre-commit-hooks' print: fixed files, `path:line: message`, YAML errors."""
    text: list[str] = []  # lines not understood yet: the start of a YAML error's text
    marks: dict[str, tuple[int, int, list[str]]] = {}  # path → last YAML mark and the text
    for line in output.split("\n"):
        if match := _FIXING.match(line):
            message = f'The "{hook}" hook rewrites this file ({line})'
            yield at(match["path"], 1, "warning", message, None)
        elif match := _LOCATED.match(line):
            column = int(match["col"]) if match["col"] else None
            yield at(
                match["path"], int(match["line"]), "failure", match["message"], None, column=column
            )
        elif match := _YAML_MARK.match(line):
            _, _, said = marks.get(match["path"], (0, 0, []))
            marks[match["path"]] = (int(match["line"]), int(match["col"]), [*said, *text, line])
            text = []
        elif match := _PATH_MESSAGE.match(line):
            where = _LINE_IN.search(match["message"])
            number, column = (int(where["line"]), int(where["col"])) if where else (1, None)
            yield at(match["path"], number, "failure", match["message"], None, column=column)
        elif line.strip():
            text.append(line)
    for path, (number, column, said) in marks.items():
        message = "\n".join(s for s in said if not _YAML_MARK.match(s)) or "YAML error"
        yield at(path, number, "failure", message, None, column=column, details="\n".join(said))


def _summary(hooks: Sequence[Hook], lines: Sequence[str]) -> str:
    said = next((line for line in lines if line.startswith(_NOT_FETCHED)), None)
    if said is None:
        return _hooks_summary(hooks, lines)
    # First, so that the title says it: the hooks that did not run are not a failure of the
    # commit's, and the others' results follow.
    missing = "pre-commit hooks could not be fetched: " + said.removeprefix(_NOT_FETCHED)
    failed = [h for h in hooks if h.status == "Failed"]
    if failed:
        return f"{missing}; {_failed(failed, hooks)}"
    if not hooks:
        return missing  # every hook is in a repository that could not be fetched
    return f"{missing}; the other {len(hooks)} hooks passed or were skipped"


def _hooks_summary(hooks: Sequence[Hook], lines: Sequence[str]) -> str:
    if not hooks:
        failure = next((line for line in lines if _FAILED.match(line)), "no hooks ran")
        return f"pre-commit: {failure}"
    failed = [h for h in hooks if h.status == "Failed"]
    if not failed:
        return f"pre-commit: all {len(hooks)} hooks passed or were skipped"
    return f"pre-commit: {_failed(failed, hooks)}"


def _failed(failed: Sequence[Hook], hooks: Sequence[Hook]) -> str:
    names = ", ".join(h.hook_id + (" (modified files)" if h.modified else "") for h in failed)
    return f"{len(failed)} of {len(hooks)} hooks failed: {names}"


def _checks(words: Sequence[str]) -> bool:
    """`pre-commit run` and `try-repo` run hooks; `install`, `autoupdate`... do not."""
    return len(words) < 2 or words[1] in ("run", "try-repo")


TOOL = Tool(
    "pre-commit",
    # prek: the pre-commit rewrite, with the same output; conveyor_pre_commit.py: Conveyor's
    # wrapper (app/suite/in_sandbox).
    ("pre-commit", "pre_commit", "prek", "conveyor_pre_commit.py"),
    report,
    _checks,
)
