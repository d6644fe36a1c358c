"""Conveyor's pytest plugin: where each test failed, as JSON lines, and "re-run only these".

Loaded into the project's own pytest with `-p conveyor_pytest` (this package's folder,
app/suite/in_sandbox, on PYTHONPATH), so it runs on whatever Python (3.8+) and pytest (6+) the
project has: standard library only, nothing of Conveyor's, and never a reason for the project's
run to fail. Every hook catches its own errors; the first few are written to the report as
`internal` records for whoever debugs it.

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
# `list[str]` and `X | None` may appear in them (and only there). Inside this package, imports
# are relative: it is imported as `conveyor_pytest`, its folder's parent on PYTHONPATH.
from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from .writer import ResultsWriter, is_worker

if TYPE_CHECKING:
    from _pytest.config import Config

PLUGIN_NAME = "conveyor-reporter"
# Set while a session of ours runs, for the processes it starts (xdist workers aside).
RUNNING = "CONVEYOR_PYTEST_RUNNING"

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
