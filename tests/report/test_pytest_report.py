"""app/report/pytest_report.py on what Conveyor's pytest plugin wrote in a real pytest run, and on
what an untrusted job may leave in its place. (The plugin's records themselves:
tests/suite/in_sandbox/test_conveyor_pytest.py.)
"""

from __future__ import annotations

import math

import pytest

from app.report.junit import MAX_REPORT_BYTES, ReportError
from app.report.pytest_report import PytestReport, parse_pytest_report
from tests.report.pytest_samples import (
    HELPERS,
    PLACES,
    PLACES_FILE,
    PROJECT,
    Run,
    line_of,
    report_line,
    run_pytest,
    write_project,
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Run:
    project = tmp_path_factory.mktemp("sample")
    write_project(project, PROJECT)
    return run_pytest(project, ["--doctest-modules", "--continue-on-collection-errors"])


@pytest.fixture(scope="module")
def parsed(sample: Run) -> PytestReport:
    return parse_pytest_report(sample.report.read_bytes(), sample.report.name)


def test_parsed_cases_carry_node_ids_places_and_frames(parsed: PytestReport) -> None:
    assert parsed.exitstatus == 1
    assert parsed.coverage is None
    assert parsed.pytest_version == pytest.__version__
    assert parsed.plugin_errors == ()
    cases = {(c.node_id, c.outcome) for c in parsed.results.cases}
    assert (f"{PLACES_FILE}::test_xfail", "skipped") in cases
    assert (f"{PLACES_FILE}::test_xpass", "passed") in cases
    assert ("tests/test_bad_import.py", "error") in cases
    assert (f"{PLACES_FILE}::test_teardown_error", "passed") in cases
    assert (f"{PLACES_FILE}::test_teardown_error", "error") in cases
    helper = next(c for c in parsed.results.cases if c.name == "test_helper_assert")
    assert helper.classname == "tests.test_places"
    assert helper.frames == (
        (PLACES_FILE, line_of(PLACES, "check_equal(1, 2)")),
        ("tests/helpers.py", line_of(HELPERS, "assert a == b")),
    )
    method = next(c for c in parsed.results.cases if c.name == "test_method")
    assert method.classname == "tests.test_places.TestGroup"


def test_parsed_counts_match_pytests_own_summary(sample: Run, parsed: PytestReport) -> None:
    results = parsed.results
    counts = {
        outcome: results.count(outcome) for outcome in ("passed", "failed", "error", "skipped")
    }
    # pytest counts the two broken modules twice (tests and doctests); the report once. An
    # xpass counts as passed, an xfail as skipped.
    assert "11 failed, 3 passed, 1 skipped, 1 xfailed, 1 xpassed, 7 errors" in sample.output
    assert counts == {"passed": 3 + 1, "failed": 11, "error": 7 - 2, "skipped": 1 + 1}


# -- the parser on what an untrusted job may leave ------------------------------------------------


def test_garbage_and_truncated_lines_are_skipped() -> None:
    data = (
        b"not json at all\n"
        + report_line(type="test", nodeid="t.py::a", outcome="passed", when="call", duration=0.1)
        + b"\xff\xfe binary\n"
        + b"[1, 2]\n"
        + report_line(type="unknown", nodeid="x")
        + report_line(type="test", nodeid="t.py::b", outcome="weird")
        + report_line(type="test", outcome="passed")  # no node id
        + b'{"type": "test", "nodeid": "t.py::c", "outc'  # cut off mid-line
    )
    report = parse_pytest_report(data, "r.jsonl")
    assert [c.node_id for c in report.results.cases] == ["t.py::a"]
    assert report.exitstatus is None  # the session never ended


def test_hostile_fields_are_dropped_not_trusted() -> None:
    data = report_line(
        type="test",
        nodeid="t.py::a",
        outcome="failed",
        file="/etc/passwd",
        line=True,
        duration=math.inf,
        message=["not", "a", "string"],
        frames=[["../outside.py", 3], ["ok.py", 0], ["ok.py", 7], "junk", ["a//b.py", 2]],
    ) + report_line(type="test", nodeid="t.py::b", outcome="failed", file="src/../x.py", line=-3)
    first, second = parse_pytest_report(data, "r").results.cases
    assert (first.file, first.line, first.time, first.message) == (None, None, 0.0, "")
    assert first.frames == (("ok.py", 7),)
    assert (second.file, second.line) == (None, None)


def test_several_sessions_in_one_file() -> None:
    ok = report_line(type="session", exitstatus=0, coverage=50.0)
    none = report_line(type="session", exitstatus=5, coverage=None)
    failed = report_line(type="session", exitstatus=1, coverage=70)
    assert parse_pytest_report(ok + failed, "r").exitstatus == 1
    assert parse_pytest_report(ok + none, "r").exitstatus == 0
    assert parse_pytest_report(none + none, "r").exitstatus == 5
    assert parse_pytest_report(ok + failed + none, "r").coverage == 70.0
    assert (
        parse_pytest_report(report_line(type="session", coverage=float("nan")), "r").coverage
        is None
    )


def test_not_a_report_at_all_is_an_error() -> None:
    with pytest.raises(ReportError, match="not a pytest report"):
        parse_pytest_report(b"<?xml version='1.0'?><testsuites/>", "junit.xml")
    with pytest.raises(ReportError, match="more than"):
        parse_pytest_report(b" " * (MAX_REPORT_BYTES + 1), "big.jsonl")
    empty = parse_pytest_report(b"", "empty.jsonl")
    assert (empty.results.cases, empty.exitstatus, empty.coverage) == ((), None, None)


def test_collection_errors_are_error_cases() -> None:
    data = report_line(
        type="collect_error",
        nodeid="tests/test_x.py",
        file="tests/test_x.py",
        line=2,
        message="ModuleNotFoundError: No module named 'x'",
        details="tests/test_x.py:2: in <module>",
        frames=[["tests/test_x.py", 2]],
    )
    (case,) = parse_pytest_report(data, "r").results.cases
    assert (case.outcome, case.node_id, case.file, case.line) == (
        "error",
        "tests/test_x.py",
        "tests/test_x.py",
        2,
    )
    assert case.frames == (("tests/test_x.py", 2),)
