"""ResultsWriter, the plugin object a session registers: its hooks deselect what `CONVEYOR_ONLY`
leaves out, attach each failure's place to its report, and append the JSON lines (the format:
this package's docstring). Every hook catches its own errors."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from .coverage import coverage_total
from .only import read_only_list, selected
from .paths import Paths, location, repository_root, rootdir
from .places import test_place
from .printed import report_place, report_text, text_place
from .tracebacks import exception_place

if TYPE_CHECKING:
    from _pytest.config import Config
    from _pytest.main import Session
    from _pytest.nodes import Collector, Item
    from _pytest.reports import CollectReport, TestReport
    from _pytest.runner import CallInfo

# The attribute that carries a report's place from where the traceback is (the makereport
# wrapper, possibly in an xdist worker) to where records are written (the controller): plain
# JSON-able values, so xdist's report serialisation keeps it.
PLACE_ATTR = "conveyor_place"
MAX_INTERNAL_ERRORS = 5


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
