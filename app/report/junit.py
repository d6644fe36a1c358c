"""JUnit XML (as pytest writes it) → test results.

A few lines of ElementTree do this; no library would make it shorter. The file comes from
untrusted code, so size is bounded and expat (≥ 2.4.1, which refuses entity expansion bombs)
parses it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Outcome = Literal["passed", "failed", "error", "skipped"]
MAX_REPORT_BYTES = 64 * 1024 * 1024
# A report's elements, at most: ten for each of 100,000 tests (a case, its failure, its output).
MAX_ELEMENTS = 1_000_000
_FEED = 1024 * 1024  # bytes given to the parser at a time


class ReportError(Exception):
    """The JUnit report is missing, too large or not XML."""


@dataclass(frozen=True)
class TestCase:
    classname: str
    name: str
    outcome: Outcome
    time: float
    file: str | None = None
    line: int | None = None
    message: str = ""
    details: str = ""
    # pytest's own node id, when the report gives it (the JUnit XML does not).
    nodeid: str | None = None
    # Every traceback frame inside the repository, innermost last: (path, line).
    frames: tuple[tuple[str, int], ...] = ()

    @property
    def node_id(self) -> str:
        """pytest's node id (`path::Class::test`), as people paste it back to pytest."""
        if self.nodeid:
            return self.nodeid
        if self.file and self.classname:
            module = self.file.removesuffix(".py").replace("/", ".")
            if self.classname == module:
                classes: list[str] = []
            elif self.classname.startswith(module + "."):
                classes = self.classname.removeprefix(module + ".").split(".")
            else:
                # Inherited from another module: `file` is where it is defined, not collected.
                *path, last = self.classname.split(".")
                is_class = last[:1].isupper()
                modpath = "/".join(path if is_class else [*path, last]) + ".py"
                return "::".join([modpath, *([last] if is_class else []), self.name])
            return "::".join(part for part in (self.file, *classes, self.name) if part)
        return f"{self.classname}::{self.name}" if self.classname else self.name


@dataclass(frozen=True)
class TestResults:
    cases: tuple[TestCase, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)

    @property
    def failing(self) -> tuple[TestCase, ...]:
        return tuple(c for c in self.cases if c.outcome in ("failed", "error"))


def parse_junit(path: Path) -> TestResults:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ReportError(f"{path.name}: {error.strerror}") from None
    if size > MAX_REPORT_BYTES:
        raise ReportError(f"{path.name}: {size} bytes, more than {MAX_REPORT_BYTES}")
    return parse_junit_bytes(path.read_bytes(), path.name)


def parse_junit_bytes(data: bytes, name: str) -> TestResults:
    """The test cases of a report, read as a stream: a whole tree of 64 MB of tiny elements
    took 20 s and 1.7 GB, so at most MAX_ELEMENTS elements are read (a ReportError beyond),
    each test case dropped from the tree once it is read."""
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(f"{name}: {len(data)} bytes, more than {MAX_REPORT_BYTES}")
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("end",))  # expat ≥ 2.4.1
    cases: list[TestCase] = []
    elements = 0
    try:
        for start in range(0, len(data) or 1, _FEED):
            parser.feed(data[start : start + _FEED])
            for event in parser.read_events():
                element = event[1]  # type: ignore[misc]  # (event, element) for "end"
                if not isinstance(element, ET.Element):
                    continue
                elements += 1
                if elements > MAX_ELEMENTS:
                    raise ReportError(f"{name}: more than {MAX_ELEMENTS} XML elements")
                if element.tag == "testcase":
                    cases.append(_case(element))
                    element.clear()
        parser.close()
    except ET.ParseError as error:
        raise ReportError(f"{name}: not valid XML ({error})") from None
    return TestResults(tuple(cases))


def _case(element: ET.Element) -> TestCase:
    outcome: Outcome = "passed"
    message = details = ""
    for child in element:
        if child.tag in ("failure", "error", "skipped"):
            outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]  # type: ignore[assignment]
            message = child.get("message", "")
            details = (child.text or "").strip()
            break
    file, line = element.get("file"), element.get("line")
    # pytest's xunit1 `line` is 0-based and points at the `def`; GitHub's lines are 1-based.
    where = int(line) + 1 if line and line.isdigit() else None
    if file and details:
        where = _failing_line(details, file) or where
    return TestCase(
        classname=element.get("classname", ""),
        name=element.get("name", ""),
        outcome=outcome,
        time=_float(element.get("time")),
        file=file,
        line=where,
        message=message,
        details=details,
    )


def _failing_line(details: str, file: str) -> int | None:
    """The last `file:line:` of pytest's traceback in the test's own file: the failing line."""
    found = re.findall(rf"^{re.escape(file)}:(\d+): ", details, flags=re.MULTILINE)
    return int(found[-1]) if found else None


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0
