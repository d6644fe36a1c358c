"""`python -m unittest` output → test results and annotations (Python 3.8 to 3.13, with or
without `-v`).

Results: with `-v`, every test with its outcome; without it, unittest names only the tests that
failed, so only those. Outcomes: `ok` → passed, `FAIL` → failed, `ERROR` → error (also a failed
`setUpClass`/`setUpModule`, and a test module that does not import: its node id is the module's
file), `skipped` → skipped, "expected failure" → skipped, "unexpected success" → failed (it fails
the run since Python 3.4). A test's `file` is its module's path by the package convention
(`tests.test_calc` → `tests/test_calc.py`), so `node_id` reads `tests/test_calc.py::CalcTest::
test_add`; its `line` is the last traceback line in that file. (Python 3.12.1's `-v` prints a
skipped test's outcome without its name: that test is missing from the results.)

Annotations, one per FAIL/ERROR block (sub-tests each have theirs): `failure` at the innermost
traceback frame inside the repository (not site-packages, not the standard library, not
`<string>`), titled with the node id, message the exception as printed ("AssertionError: 2 !=
3", with the lines of a multi-line message), raw_details the traceback (its start and its end
when over 4000 characters). A block without such a frame (an unexpected success, a module that
does not exist) has none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.report.junit import Outcome, TestCase, TestResults
from app.report.model import Annotation
from app.report.tools.common import (
    Tool,
    ToolReport,
    at,
    clean,
    finish,
    is_installed,
    plural,
    relative,
)

DETAILS_CHARS = 4000
_RULE = "=" * 70
_DASHES = "-" * 70
# A failure block's header, after a line of "=": "FAIL: test_add (tests.test_calc.CalcTest)"
_BLOCK = re.compile(r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<test>.+)$")
# A test as unittest names it: "test_add (tests.test_calc.CalcTest)" up to 3.10,
# "test_add (tests.test_calc.CalcTest.test_add)" since, "setUpClass (tests.test_calc.BrokenClass)";
# a sub-test adds its parameters: "test_subtests (tests.test_calc.CalcTest.test_subtests) (i=2)".
_TEST = re.compile(r"(?P<name>[^\s()]+) \((?P<where>[\w.]+)\)(?: (?P<sub>.+))?")
# -v progress: "test_add (tests.test_calc.CalcTest.test_add) ... ok", "… skipped 'not today'"
_PROGRESS = " ... "
_OUTCOME = re.compile(
    r"(?P<word>ok|FAIL|ERROR|skipped|expected failure|unexpected success)(?: (?P<why>.*))?"
)
# '  File "/conveyor/src/tests/test_calc.py", line 11, in test_add_wrong'
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)')
_TRACEBACK = "Traceback (most recent call last):"
# "Ran 9 tests in 0.001s", then "OK (skipped=1)", "FAILED (failures=2, errors=4)", "NO TESTS RAN"
_RAN = re.compile(r"^Ran (?P<count>\d+) tests? in ")
_VERDICT = re.compile(r"^(OK|FAILED|NO TESTS RAN)\b")
_FAILED_IMPORT = "unittest.loader._FailedTest"
_WORDS: dict[str, Outcome] = {
    "ok": "passed",
    "FAIL": "failed",
    "ERROR": "error",
    "skipped": "skipped",
    "expected failure": "skipped",
    "unexpected success": "failed",
}
_KINDS: dict[str, Outcome] = {"FAIL": "failed", "ERROR": "error", "UNEXPECTED SUCCESS": "failed"}

Key = tuple[str, str]  # (classname, name)


@dataclass(frozen=True)
class _Block:
    """One FAIL/ERROR block: which test, how it ended, what it printed."""

    key: Key
    sub: str
    outcome: Outcome
    body: tuple[str, ...]


def report(output: str, _command: str, root: str) -> ToolReport:
    lines = clean(output)
    first_rule = next((i for i, line in enumerate(lines) if line == _RULE), len(lines))
    progress = _progress(lines[:first_rule])
    blocks = _blocks(lines[first_rule:])
    cases = _cases(progress, blocks, root)
    found = [a for block in blocks if (a := _annotation(block, root)) is not None]
    results = TestResults(tuple(cases))
    return finish("unittest", found, root, lambda _kept, _more: _summary(lines, results), results)


def _key(test: re.Match[str]) -> Key:
    name, where = test["name"], test["where"]
    where = where.removesuffix(f".{name}")  # Python ≥ 3.11 repeats the method name
    if where == _FAILED_IMPORT:
        return name, ""  # the module that failed to import
    return where, name


def _progress(lines: Sequence[str]) -> dict[Key, tuple[Outcome | None, str]]:
    """Each test `-v` names, in order, with its outcome when the line says it."""
    seen: dict[Key, tuple[Outcome | None, str]] = {}
    pending: Key | None = None  # named, outcome still to come (after the test's own output)
    alone: Key | None = None  # named on a line of its own: its docstring line comes next
    for line in lines:
        text = line.strip()
        parts = (text + " " if text.endswith(" ...") else text).split(_PROGRESS)
        for part in parts[:-1]:
            test = _TEST.fullmatch(part)
            if test is None:
                pending = alone  # "First docstring line ... ok", or the test's output
            elif test["sub"]:
                pending = None  # a sub-test's line: its parent's outcome is in its block
            else:
                pending = _key(test)
            if pending is not None:
                seen.setdefault(pending, (None, ""))
        alone = None
        tail = parts[-1]
        outcome = _OUTCOME.fullmatch(tail)
        if len(parts) == 1 and (test := _TEST.fullmatch(tail)) and not test["sub"]:
            alone = _key(test)
            seen.setdefault(alone, (None, ""))
        elif outcome is not None and pending is not None:
            seen[pending] = (_WORDS[outcome["word"]], _why(outcome))
            pending = None
    return seen


def _why(outcome: re.Match[str]) -> str:
    word, why = outcome["word"], (outcome["why"] or "").strip("'\"")
    if word == "skipped":
        return why
    return word if word in ("expected failure", "unexpected success") else ""


def _blocks(lines: Sequence[str]) -> list[_Block]:
    starts = [i for i, line in enumerate(lines) if line == _RULE]
    blocks = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        header = _BLOCK.match(lines[start + 1]) if start + 1 < end else None
        test = _TEST.match(header["test"]) if header else None
        if header is None or test is None:
            continue
        body_start = next((i + 1 for i in range(start + 2, end) if lines[i] == _DASHES), end)
        body = list(lines[body_start:end])
        ran = next((i for i, line in enumerate(body) if _RAN.match(line)), None)
        if ran is not None:
            body = body[: max(ran - 1, 0)]  # the dashes before "Ran N tests"
        while body and not body[-1].strip():
            body.pop()
        outcome = _KINDS[header["kind"]]
        blocks.append(_Block(_key(test), test["sub"] or "", outcome, tuple(body)))
    return blocks


def _cases(
    progress: dict[Key, tuple[Outcome | None, str]], blocks: Sequence[_Block], root: str
) -> list[TestCase]:
    first: dict[Key, _Block] = {}
    for block in blocks:
        first.setdefault(block.key, block)
    keys = list(progress) + [key for key in first if key not in progress]
    cases = []
    for key in keys:
        outcome, message = progress.get(key, (None, ""))
        cases.append(_case(key, first.get(key), outcome or "passed", message, root))
    return cases


def _case(key: Key, block: _Block | None, outcome: Outcome, message: str, root: str) -> TestCase:
    classname, name = key
    file = _module_file(classname, _frames(block.body, root) if block else [])
    if block is None:
        return TestCase(classname, name, outcome, 0.0, file=file, message=message)
    lines = [line for path, line in _frames(block.body, root) if file and _is(path, file)]
    return TestCase(
        classname=classname,
        name=name,
        outcome=block.outcome,
        time=0.0,
        file=file,
        line=lines[-1] if lines else None,
        message=_exception(block.body) or message or _unexpected(block),
        details=_details(block.body),
    )


def _annotation(block: _Block, root: str) -> Annotation | None:
    last = max((i for i, line in enumerate(block.body) if line == _TRACEBACK), default=0)
    frames = _frames(block.body[last:], root) or _frames(block.body, root)
    if not frames:
        return None
    path, line = frames[-1]
    classname, name = block.key
    case = TestCase(classname, name, block.outcome, 0.0, file=_module_file(classname, frames))
    title = f"{case.node_id} {block.sub}".strip()
    message = _exception(block.body) or _unexpected(block)
    return at(path, line, "failure", message, title, details=_details(block.body))


def _frames(body: Sequence[str], root: str) -> list[tuple[str, int]]:
    """The traceback's frames in the repository, outermost first, with repository paths."""
    frames = []
    for line in body:
        match = _FRAME.match(line)
        path = relative(match["path"], root) if match else None
        if match and path is not None and not is_installed(path):
            frames.append((path, int(match["line"])))
    return frames


def _module_file(classname: str, frames: Sequence[tuple[str, int]]) -> str | None:
    """`tests.test_calc.CalcTest` → `tests/test_calc.py`: the longest dotted prefix a frame's file
    ends with, else the names before the first capitalised one (a class)."""
    parts = classname.split(".")
    for n in range(len(parts), 0, -1):
        candidate = "/".join(parts[:n]) + ".py"
        if any(_is(path, candidate) for path, _ in frames):
            return candidate
    n = next((k for k, part in enumerate(parts) if part[:1].isupper()), len(parts))
    return "/".join(parts[:n]) + ".py" if n and parts[0] else None


def _is(path: str, module_file: str) -> bool:
    return path == module_file or path.endswith("/" + module_file)


def _exception(body: Sequence[str]) -> str:
    """The exception as printed after the last frame, up to a `-b` "Stdout:"/"Stderr:" section."""
    frames = [i for i, line in enumerate(body) if _FRAME.match(line)]
    start = frames[-1] + 1 if frames else 0
    text: list[str] = []
    for line in body[start:]:
        if not text and (line.startswith(" ") or not line):
            continue  # the frame's source line and its ^^^ markers
        if line in ("Stdout:", "Stderr:"):
            break
        text.append(line)
    return "\n".join(text).strip()


def _unexpected(block: _Block) -> str:
    return "unexpected success" if block.outcome == "failed" and not block.body else ""


def _details(body: Sequence[str]) -> str:
    """The block, or when longer than DETAILS_CHARS its start (where the traceback begins)
    and its end (the innermost frames and the exception)."""
    text = "\n".join(body)
    if len(text) <= DETAILS_CHARS:
        return text
    head = DETAILS_CHARS // 4
    return text[:head] + "\n…\n" + text[-(DETAILS_CHARS - head - 3) :]


def _summary(lines: Sequence[str], results: TestResults) -> str:
    ran = next((m for line in lines if (m := _RAN.match(line))), None)
    verdict = next((line for line in reversed(lines) if _VERDICT.match(line)), "")
    if ran is not None:
        return f"unittest: ran {plural(int(ran['count']), 'test')}" + (
            f": {verdict}" if verdict else ""
        )
    if verdict:
        return f"unittest: {verdict}"
    failing = len(results.failing)
    return (
        f"unittest: {plural(failing, 'failing test')}" if failing else "unittest: no test results"
    )


TOOL = Tool("unittest", ("unittest",), report)
