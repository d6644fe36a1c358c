"""Conveyor's pytest plugin: where each test failed, as JSON lines, and "re-run only these".

Loaded into the project's own pytest with `-p conveyor_pytest` (this folder on PYTHONPATH), so it
runs on whatever Python (3.8+) and pytest (6+) the project has: standard library only, nothing
of Conveyor's, and never a reason for the project's run to fail. Every hook catches its own
errors; the first few are written to the report as `internal` records for whoever debugs it.

JUnit XML is no use for places: pytest's default format has no file or line and xunit1 gives
the line of the `def`. The traceback itself (`call.excinfo`, the raw Python traceback) does.

- `CONVEYOR_REPORT=<file>`: append one JSON object per line to <file> (read by
  app/report/pytest_report.py):
    {"type": "start", "pytest", "python", "root"}
    {"type": "test", "nodeid", "outcome": passed|failed|error|skipped|xfailed|xpassed,
     "when": setup|call|teardown, "duration", "file", "line", "message", "details", "frames",
     ["subtest"]}
    {"type": "collect_error", "nodeid", "file", "line", "message", "details", "frames"}
    {"type": "internal", "where", "error"}      (this plugin's own bug, swallowed)
    {"type": "session", "exitstatus", "duration", "coverage"}
  `file` is repository-relative with "/", `line` 1-based; `frames` is [[file, line], ...], every
  traceback frame in the repository, innermost last. A test that passes and then fails in
  teardown has two records (passed, then error), as pytest counts it.
- `CONVEYOR_ONLY=<file>`: node ids, one a line; every other collected test is deselected.
- `CONVEYOR_ROOT=<dir>`: the repository root that paths are relative to (default: the nearest
  folder above the invocation directory holding `.git`, else the outermost of the invocation
  directory and pytest's rootdir).
"""

# Runs on Python 3.8: `from __future__ import annotations` keeps annotations unevaluated, so
# `list[str]` and `X | None` may appear in them (and only there).
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest.config import Config
    from _pytest.main import Session
    from _pytest.nodes import Collector, Item
    from _pytest.reports import CollectReport, TestReport
    from _pytest.runner import CallInfo

PLUGIN_NAME = "conveyor-reporter"
# Set while a session of ours runs, for the processes it starts (xdist workers aside).
RUNNING = "CONVEYOR_PYTEST_RUNNING"
# The attribute that carries a report's place from where the traceback is (the makereport
# wrapper, possibly in an xdist worker) to where records are written (the controller): plain
# JSON-able values, so xdist's report serialisation keeps it.
PLACE_ATTR = "conveyor_place"
DETAILS_CHARS = 4000
ERROR_LINES_CHARS = 2000
MESSAGE_CHARS = 4000
MAX_FRAMES = 100
MAX_INTERNAL_ERRORS = 5
# Folders that hold installed code rather than the project's own, wherever they sit.
FOREIGN_PARTS = frozenset(
    ("site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox", ".eggs", "__pypackages__")
)

if TYPE_CHECKING:
    Frame = tuple[str, int]
    Place = dict[str, Any]

_reporter: ResultsWriter | None = None


# -- hooks: thin, and never raising ------------------------------------------------------------


def pytest_configure(config: Config) -> None:
    global _reporter
    if not (os.environ.get("CONVEYOR_REPORT") or os.environ.get("CONVEYOR_ONLY")):
        return  # not asked for anything: not even a hook registered
    try:
        if not is_worker(config):
            if os.environ.get(RUNNING):
                # A pytest that the project's own tests start (they inherit PYTEST_ADDOPTS and
                # our variables): its tests are not the project's, and its node ids are not
                # the ones to re-run.
                return
            os.environ[RUNNING] = "1"
        reporter = ResultsWriter(config)
        try:
            config.pluginmanager.register(reporter, PLUGIN_NAME)
        except Exception:
            reporter.close()
            raise
        _reporter = reporter
    except Exception:
        _reporter = None


def pytest_unconfigure(config: Config) -> None:
    global _reporter
    with contextlib.suppress(Exception):
        if _reporter is not None and _reporter.config is config:
            _reporter.close()
            _reporter = None
            if not is_worker(config):
                os.environ.pop(RUNNING, None)


def is_worker(config: Config) -> bool:
    """An xdist worker: it collects and runs (so it deselects and finds places) but its
    controller, which gets every report, writes."""
    return hasattr(config, "workerinput") or hasattr(config, "slaveinput")


class ResultsWriter:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.started = time.time()
        self.internal_errors = 0
        self.setup_seconds: dict[str, float] = {}
        self.collect_errors: set[str] = set()
        self.root = repository_root(config)
        self.rootdir = rootdir(config)
        self.paths = Paths(self.root)
        self.only = read_only_list(os.environ.get("CONVEYOR_ONLY", ""))
        self.out: Any | None = None
        target = os.environ.get("CONVEYOR_REPORT", "")
        self.active = bool(target)
        if target and not is_worker(config):
            try:
                # Appending: a command may run pytest more than once (tox, `pytest a; pytest b`).
                self.out = open(target, "a", encoding="utf-8")  # noqa: SIM115 - open for the session
            except OSError:
                self.active = False
        self.write(
            {
                "type": "start",
                "pytest": getattr(pytest, "__version__", None),
                "python": ".".join(str(part) for part in sys.version_info[:3]),
                "root": self.root,
            }
        )

    # -- writing -------------------------------------------------------------------------------

    def write(self, record: dict[str, Any]) -> None:
        if self.out is None:
            return
        # One write per line and a flush: a run killed by a time limit leaves whole lines. A
        # full disk is not the tests' problem.
        with contextlib.suppress(Exception):
            self.out.write(json.dumps(record, default=str) + "\n")
            self.out.flush()

    def internal(self, where: str) -> None:
        """Our own bug: noted in the report (a few times at most), never raised into pytest."""
        self.internal_errors += 1
        if self.internal_errors <= MAX_INTERNAL_ERRORS:
            error = "".join(traceback.format_exception_only(*sys.exc_info()[:2])).strip()
            self.write({"type": "internal", "where": where, "error": error[:1000]})

    def close(self) -> None:
        if self.out is not None:
            with contextlib.suppress(Exception):
                self.out.close()
            self.out = None

    # -- re-run only these ---------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: Config, items: list[Item]) -> None:
        if self.only is None:
            return
        try:
            keep: list[Item] = []
            drop: list[Item] = []
            for item in items:
                (keep if selected(item.nodeid, self.only) else drop).append(item)
            if drop:
                config.hook.pytest_deselected(items=drop)
                items[:] = keep
        except Exception:
            self.internal("collection_modifyitems")

    # -- places --------------------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: Item, call: CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        # Outermost wrapper (tryfirst): skipping's xfail handling and unittest's excinfo swap
        # have run by now, so the report and `call.excinfo` are final.
        if not self.active:
            return
        try:
            report = outcome.get_result()
            if report.outcome != "passed" or hasattr(report, "wasxfail"):
                setattr(report, PLACE_ATTR, test_place(item, call, report, self.paths))
        except Exception:
            self.internal("runtest_makereport")

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_make_collect_report(self, collector: Collector) -> Generator[None, Any, None]:
        outcome = yield
        if not self.active:
            return
        try:
            report = outcome.get_result()
            # pytest attaches the CallInfo for --pdb and pops it right after this hook.
            call = getattr(report, "call", None)
            excinfo = getattr(call, "excinfo", None)
            if report.failed and excinfo is not None:
                setattr(report, PLACE_ATTR, exception_place(excinfo.value, None, self.paths))
        except Exception:
            self.internal("make_collect_report")

    # -- records -------------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: TestReport) -> None:
        if self.out is None:
            return
        try:
            self.write_test(report)
        except Exception:
            self.internal("runtest_logreport")

    def write_test(self, report: TestReport) -> None:
        when, outcome = report.when, report.outcome
        duration = float(getattr(report, "duration", 0.0) or 0.0)
        xfail = hasattr(report, "wasxfail")
        if when == "setup" and outcome == "passed":
            self.setup_seconds[report.nodeid] = duration
            return
        if when == "teardown" and outcome == "passed":
            return
        if outcome not in ("passed", "failed", "skipped"):
            return  # "rerun" (pytest-rerunfailures) and the like are not outcomes
        subtest = subtest_of(report)
        if subtest is not None and outcome != "failed":
            return  # pytest counts subtests that pass or skip apart from tests, and so do we
        if when == "call":
            duration += self.setup_seconds.pop(report.nodeid, 0.0)
        if outcome == "failed":
            kind = "failed" if when == "call" else "error"
        elif xfail:
            kind = "xfailed" if outcome == "skipped" else "xpassed"
        else:
            kind = outcome
        place = getattr(report, PLACE_ATTR, None)
        if not isinstance(place, dict):
            place = report_place(report, self.paths)
        record = {
            "type": "test",
            "nodeid": report.nodeid,
            "outcome": kind,
            "when": when,
            "duration": round(duration, 6),
        }
        record.update(place)
        if subtest is not None:
            record["subtest"] = subtest
        if record.get("file") is None:
            record["file"], record["line"] = location(report, self.rootdir, self.paths)
        self.write(record)

    def pytest_collectreport(self, report: CollectReport) -> None:
        if self.out is None or not report.failed:
            return
        try:
            # With --doctest-modules a module is collected twice (tests, doctests) and a broken
            # one fails twice, the same way: one record is enough.
            if report.nodeid in self.collect_errors:
                return
            self.collect_errors.add(report.nodeid)
            place = getattr(report, PLACE_ATTR, None)
            if not isinstance(place, dict):
                place = text_place(report_text(report), self.paths)
            record: dict[str, Any] = {"type": "collect_error", "nodeid": report.nodeid}
            record.update(place)
            path = os.path.join(self.rootdir, report.nodeid.split("::")[0])
            if record.get("file") is None and os.path.isfile(path):
                # The module itself (a folder, for a package, cannot be annotated).
                record["file"] = self.paths.relative(path)
                record["line"] = 1 if record["file"] else None
            self.write(record)
        except Exception:
            self.internal("collectreport")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: Session, exitstatus: int) -> None:
        if self.out is None:
            return
        coverage = None
        try:
            coverage = coverage_total(self.config)
        except Exception:
            self.internal("coverage")
        try:
            status = int(exitstatus)
        except Exception:
            status = None
        self.write(
            {
                "type": "session",
                "exitstatus": status,
                "duration": round(time.time() - self.started, 3),
                "coverage": coverage,
            }
        )


def subtest_of(report: Any) -> str | None:
    """How pytest names a subtest (`[msg] (i=1)`) for a subtest's report (pytest 9's own
    subtests, the pytest-subtests plugin, unittest's subTest), else None. Its node id is the
    test's, which is what re-running it takes."""
    if type(report).__name__ not in ("SubtestReport", "SubTestReport"):
        return None
    with contextlib.suppress(Exception):
        return str(report._sub_test_description())
    return "(<subtest>)"


# -- re-run only these -------------------------------------------------------------------------


def read_only_list(path: str) -> frozenset[str] | None:
    """The node ids to keep, or None to keep everything (no list, or one that cannot be read:
    running every test is the safe way to be wrong)."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return frozenset(line.strip() for line in handle if line.strip())
    except (OSError, UnicodeDecodeError):
        return None


def selected(nodeid: str, only: frozenset[str]) -> bool:
    """Listed exactly, or under a listed module or class (a collection error's node id is the
    module: re-running it means every test in it). `test_x[1]` never selects `test_x[10]`."""
    if nodeid in only:
        return True
    parts = split_nodeid(nodeid)
    return any("::".join(parts[:end]) in only for end in range(1, len(parts)))


def split_nodeid(nodeid: str) -> list[str]:
    """`path::Class::test[params]` → parts; `::` inside the parameter ids is not a separator."""
    bracket = nodeid.find("[")
    head, tail = (nodeid, "") if bracket < 0 else (nodeid[:bracket], nodeid[bracket:])
    parts = head.split("::")
    parts[-1] += tail
    return parts


# -- where things are ---------------------------------------------------------------------------


def rootdir(config: Config) -> str:
    root = getattr(config, "rootpath", None) or getattr(config, "rootdir", None) or os.getcwd()
    return os.path.abspath(str(root))


def invocation_dir(config: Config) -> str:
    params = getattr(config, "invocation_params", None)
    return os.path.abspath(str(getattr(params, "dir", None) or os.getcwd()))


def repository_root(config: Config) -> str:
    given = os.environ.get("CONVEYOR_ROOT", "")
    if given and os.path.isabs(given):
        return os.path.normpath(given)
    start = invocation_dir(config)
    folder = start
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    root = rootdir(config)
    # `cd tests && pytest` with the ini file above: the rootdir is the outer one.
    return root if is_under(start, root) else start


def is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class Paths:
    """Absolute file names → repository-relative "/" paths, for the project's own files only."""

    def __init__(self, root: str) -> None:
        self.roots = [root]
        real = os.path.realpath(root)
        if real != root:
            self.roots.append(real)
        self.foreign = []
        for env in (os.environ.get("VIRTUAL_ENV"), sys.prefix, sys.exec_prefix, sys.base_prefix):
            # An environment inside the repository is not the project; one around it (the
            # repository inside the environment's folder) must not hide the project.
            if env and not any(is_under(r, os.path.abspath(env)) for r in self.roots):
                self.foreign.append(os.path.abspath(env))
        self.cache: dict[str, str | None] = {}

    def relative(self, filename: str) -> str | None:
        if filename not in self.cache:
            self.cache[filename] = self._relative(filename)
        return self.cache[filename]

    def _relative(self, filename: str) -> str | None:
        # "<string>", "<doctest ...>", "<frozen importlib._bootstrap>": no file to point at.
        if not filename or filename.startswith("<"):
            return None
        candidates = [os.path.abspath(filename)]
        real = os.path.realpath(filename)
        if real != candidates[0]:
            candidates.append(real)
        for path in candidates:
            if any(is_under(path, env) for env in self.foreign):
                return None
            for root in self.roots:
                if is_under(path, root) and path != root:
                    relative = os.path.relpath(path, root)
                    parts = relative.split(os.sep)
                    if FOREIGN_PARTS.intersection(parts):
                        return None
                    return "/".join(parts)
        return None


def location(report: Any, root: str, paths: Paths) -> tuple[str | None, int | None]:
    """The test's own place, its `def`, from pytest's location (relative to the rootdir)."""
    try:
        relpath, lineno = report.location[0], report.location[1]
        file = paths.relative(os.path.join(root, relpath))
        if file is None:
            return None, None
        return file, int(lineno) + 1 if isinstance(lineno, int) else 1
    except Exception:
        return None, None


# -- tracebacks ---------------------------------------------------------------------------------


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


# -- without an exception at hand: what the report says ------------------------------------------


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


# -- coverage --------------------------------------------------------------------------------------


def coverage_total(config: Config) -> float | None:
    """pytest-cov's total percent, which it computes at the end of the test loop (before
    sessionfinish) into its `_cov` plugin's `cov_total`; None when it did not run or report."""
    plugin = config.pluginmanager.getplugin("_cov")
    total = getattr(plugin, "cov_total", None)
    if isinstance(total, (int, float)) and not isinstance(total, bool):
        value = float(total)
        return value if value == value else None  # NaN
    return None
