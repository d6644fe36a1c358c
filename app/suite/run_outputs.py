"""What a check's commands left behind, read as the untrusted files they are: the test reports
(the pytest plugin's, the JUnit XML, a project's own `--junitxml`), coverage, the marker of an
environment built in part, the size of a folder; and the folders they write in, made empty
without following the links a run planted there.

Anything here may be a link to a host file, a FIFO or a file too big to read: each reader says
which it refuses."""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.report.junit import (
    MAX_REPORT_BYTES,
    ReportError,
    TestCase,
    TestResults,
    parse_junit_bytes,
)
from app.report.pytest_report import parse_pytest_report
from app.suite.repository_files import UnreadableFile, read_bytes

# pytest's terminal line after it wrote a JUnit file: "----- generated xml file: /path.xml -----".
_GENERATED_XML = re.compile(r"^-+ generated xml file: (?P<path>/.+?) -+\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ReportFolders:
    """Where the test commands write reports: each folder as the commands see it (`shown_*`, in
    the sandbox) and where it is here."""

    out: Path
    shown_out: str
    workspace: Path
    shown_src: str


def read_reports(
    folders: ReportFolders, commands: int, named_reports: Mapping[int, Sequence[str]]
) -> tuple[TestResults | None, str | None, float | None]:
    """The plugin's report where there is one, else the JUnit XML; and coverage. `commands`:
    how many test commands there were; `named_reports`: the JUnit files each one's pytest said
    it wrote (`named_junit_files`)."""
    out = folders.out
    cases: list[TestCase] = []
    coverage: float | None = None
    any_report = False
    for index in range(commands):
        plugin, junit = out / f"pytest-{index}.jsonl", out / f"junit-{index}.xml"
        try:
            if present(plugin):
                data = read_untrusted(plugin, MAX_REPORT_BYTES)
                report = parse_pytest_report(data, plugin.name)
                if report.results.cases:
                    cases.extend(report.results.cases)
                    if report.coverage is not None:
                        coverage = report.coverage
                    any_report = True
                    continue
            if present(junit):
                data = read_untrusted(junit, MAX_REPORT_BYTES)
                cases.extend(parse_junit_bytes(data, junit.name).cases)
                any_report = True
            for name, data in named_junit(folders, index, named_reports.get(index, ())):
                cases.extend(parse_junit_bytes(data, name).cases)
                any_report = True
        except ReportError as error:
            return None, str(error), coverage
    return (TestResults(tuple(cases)) if any_report else None), None, coverage


def named_junit(
    folders: ReportFolders, index: int, named: Sequence[str]
) -> list[tuple[str, bytes]]:
    """The JUnit files other than ours that the command's pytest runs said they wrote
    (`--junitxml` of the project's own, which wins over ours): read as the repository's
    files are, so that a link planted there leads nowhere outside."""
    found: list[tuple[str, bytes]] = []
    roots = ((folders.shown_src, folders.workspace), (folders.shown_out, folders.out))
    ours = posixpath.join(folders.shown_out, f"junit-{index}.xml")
    for each in dict.fromkeys(named):
        path = posixpath.normpath(each)
        if path == ours:
            continue  # read by read_reports
        for shown, root in roots:
            if not path.startswith(shown.rstrip("/") + "/"):
                continue
            relative = path[len(shown.rstrip("/")) + 1 :]
            try:
                data = read_bytes(root, relative, limit=MAX_REPORT_BYTES)
            except UnreadableFile:
                data = None  # a link out of the checkout, a FIFO: not a report
            if data is not None:
                found.append((relative, data))
            break
    return found


def named_junit_files(printed: str) -> tuple[str, ...]:
    """The JUnit files pytest says it wrote, in what a command printed."""
    return tuple(found["path"] for found in _GENERATED_XML.finditer(printed))


def coverage_from_log(log: str) -> float | None:
    """coverage.py's `TOTAL ... 87%` line, when coverage ran without the plugin seeing it."""
    found = re.findall(r"^TOTAL\s+.*?(\d+(?:\.\d+)?)%\s*$", log, flags=re.MULTILINE)
    return float(found[-1]) if found else None


def read_untrusted(path: Path, limit: int) -> bytes:
    """A file the job wrote: not through a symlink, not a FIFO, not more than `limit` bytes."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise ReportError(f"{path.name}: cannot be read ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as report:
        if not stat.S_ISREG(os.fstat(report.fileno()).st_mode):
            raise ReportError(f"{path.name}: not a regular file")
        data = report.read(limit + 1)
    if len(data) > limit:
        raise ReportError(f"{path.name}: more than {limit} bytes")
    return data


def present(path: Path) -> bool:
    """Something is there: a file, a folder, or a link, even one that leads nowhere."""
    return path.exists() or path.is_symlink()


def is_regular_file(path: Path) -> bool:
    """A real file (a link the install commands planted there does not count)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def folder_size(folder: Path) -> int:
    """The bytes of the files under `folder`, links not followed."""
    total = 0
    for _top, _, files, top_fd in os.fwalk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(name, dir_fd=top_fd, follow_symlinks=False).st_size
    return total


def make_empty(folder: Path) -> None:
    """`folder` made anew and empty (rmtree never follows the links a run left in it)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
