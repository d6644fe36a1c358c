"""app/report/junit.py on JUnit XML that pytest really wrote (xunit1, as the runner asks for)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.report import junit
from app.report.junit import MAX_ELEMENTS, ReportError, parse_junit, parse_junit_bytes
from app.report.junit import TestCase as Case  # aliased: pytest would try to collect Test*
from app.report.junit import TestResults as Results
from tests.report.pytest_samples import write_project

SAMPLE = textwrap.dedent(
    """\
    import pytest


    def test_passes():
        assert 1 + 1 == 2


    def test_fails():
        assert 1 + 1 == 3


    def test_raises():
        raise RuntimeError("boom")


    @pytest.mark.skip(reason="not today")
    def test_skipped():
        pass


    @pytest.fixture
    def broken():
        raise OSError("no disk")


    def test_fixture_error(broken):
        pass


    class TestGroup:
        def test_in_class(self):
            assert True

        def test_in_class_fails(self):
            assert "a" == "b"


    @pytest.mark.parametrize("n", [1, 2, 3])
    def test_param(n):
        assert n != 2
    """
)
NO_TESTS = "def helper():\n    return 1\n"
BASE = "class Base:\n    def test_inherited_fails(self):\n        assert 0\n"
INHERIT = "from base import Base\n\n\nclass TestImpl(Base):\n    pass\n"


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of `text` that starts with `needle` (after indent)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(needle):
            return number
    raise AssertionError(needle)


@dataclass(frozen=True)
class Run:
    returncode: int
    junit: Path
    output: str


def run_pytest(project: Path, files: dict[str, str]) -> Run:
    """Write a project and run the real pytest on it, the way the suite runner does."""
    write_project(project, files)
    (project / "pytest.ini").write_text("[pytest]\n")  # the project is its own rootdir
    report = project.parent / f"{project.name}-junit.xml"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(project),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only pytest itself, whatever else is installed
    }
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-ra",
            "--color=no",
            f"--junitxml={report}",
            "-o",
            "junit_family=xunit1",
            "-p",
            "no:cacheprovider",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(finished.returncode, report, finished.stdout + finished.stderr)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_pytest(
        tmp_path_factory.mktemp("mixed"),
        {
            "tests/test_sample.py": SAMPLE,
            "tests/test_nothing_here.py": NO_TESTS,
            "tests/base.py": BASE,
            "tests/test_inherit.py": INHERIT,
        },
    )


@pytest.fixture(scope="module")
def results(mixed: Run) -> Results:
    return parse_junit(mixed.junit)


def by_id(results: Results) -> dict[str, Case]:
    cases = {case.node_id: case for case in results.cases}
    assert len(cases) == len(results.cases)
    return cases


SAMPLE_FILE = "tests/test_sample.py"


def test_pytest_really_ran_and_wrote_the_report(mixed: Run) -> None:
    assert mixed.returncode == 1, mixed.output
    assert mixed.junit.read_text().startswith("<?xml")
    assert "5 failed, 4 passed, 1 skipped, 1 error" in mixed.output


def test_every_case_has_its_outcome_and_node_id(results: Results) -> None:
    outcomes = {
        node_id: case.outcome
        for node_id, case in by_id(results).items()
        if case.file == SAMPLE_FILE
    }
    assert outcomes == {
        "tests/test_sample.py::test_passes": "passed",
        "tests/test_sample.py::test_fails": "failed",
        "tests/test_sample.py::test_raises": "failed",
        "tests/test_sample.py::test_skipped": "skipped",
        "tests/test_sample.py::test_fixture_error": "error",
        "tests/test_sample.py::TestGroup::test_in_class": "passed",
        "tests/test_sample.py::TestGroup::test_in_class_fails": "failed",
        "tests/test_sample.py::test_param[1]": "passed",
        "tests/test_sample.py::test_param[2]": "failed",
        "tests/test_sample.py::test_param[3]": "passed",
    }


def test_counts(results: Results) -> None:
    assert len(results.cases) == 11
    assert results.count("passed") == 4
    assert results.count("failed") == 5
    assert results.count("error") == 1
    assert results.count("skipped") == 1


def test_a_file_without_tests_adds_no_cases(results: Results) -> None:
    assert not [c for c in results.cases if c.file and "nothing_here" in c.file]


def test_failing_cases_point_at_the_failing_line(results: Results) -> None:
    """The line of the failing statement (from pytest's traceback), not of the `def`."""
    where = {case.node_id: (case.file, case.line) for case in results.failing}
    assert where == {
        "tests/test_sample.py::test_fails": (SAMPLE_FILE, line_of(SAMPLE, "assert 1 + 1 == 3")),
        "tests/test_sample.py::test_raises": (SAMPLE_FILE, line_of(SAMPLE, "raise RuntimeError")),
        # A fixture error: the line in the fixture that raised.
        "tests/test_sample.py::test_fixture_error": (
            SAMPLE_FILE,
            line_of(SAMPLE, 'raise OSError("no disk")'),
        ),
        "tests/test_sample.py::TestGroup::test_in_class_fails": (
            SAMPLE_FILE,
            line_of(SAMPLE, 'assert "a" == "b"'),
        ),
        "tests/test_sample.py::test_param[2]": (SAMPLE_FILE, line_of(SAMPLE, "assert n != 2")),
        # An inherited test fails where its code is: the assert in base.py.
        "tests/test_inherit.py::TestImpl::test_inherited_fails": ("tests/base.py", 3),
    }
    assert line_of(SAMPLE, "assert 1 + 1 == 3") == 9


def test_the_line_points_into_the_file(results: Results) -> None:
    lines = SAMPLE.splitlines()
    [fails] = [c for c in results.cases if c.name == "test_fails"]
    assert fails.line is not None
    assert lines[fails.line - 1] == "    assert 1 + 1 == 3"


def test_failure_messages_and_details(results: Results) -> None:
    cases = by_id(results)
    fails = cases["tests/test_sample.py::test_fails"]
    assert fails.message == "assert (1 + 1) == 3"
    assert "tests/test_sample.py:9: AssertionError" in fails.details
    raises = cases["tests/test_sample.py::test_raises"]
    assert raises.message == "RuntimeError: boom"
    assert "tests/test_sample.py:13: RuntimeError" in raises.details
    error = cases["tests/test_sample.py::test_fixture_error"]
    assert error.message == 'failed on setup with "OSError: no disk"'
    skipped = cases["tests/test_sample.py::test_skipped"]
    assert skipped.message == "not today"
    assert cases["tests/test_sample.py::test_passes"].message == ""
    assert cases["tests/test_sample.py::test_passes"].details == ""


def test_classname_and_name_are_kept(results: Results) -> None:
    cases = by_id(results)
    in_class = cases["tests/test_sample.py::TestGroup::test_in_class_fails"]
    assert (in_class.classname, in_class.name) == (
        "tests.test_sample.TestGroup",
        "test_in_class_fails",
    )
    param = cases["tests/test_sample.py::test_param[2]"]
    assert (param.classname, param.name) == ("tests.test_sample", "test_param[2]")
    assert all(case.time >= 0.0 for case in results.cases)


def test_failing_keeps_failures_and_errors_in_report_order(results: Results) -> None:
    assert [c.outcome for c in results.failing].count("error") == 1
    assert {c.outcome for c in results.failing} == {"failed", "error"}
    assert len(results.failing) == 6


def test_an_inherited_test_has_the_node_id_pytest_prints(mixed: Run, results: Results) -> None:
    [case] = [c for c in results.cases if c.name == "test_inherited_fails"]
    assert "FAILED tests/test_inherit.py::TestImpl::test_inherited_fails" in mixed.output
    assert case.node_id == "tests/test_inherit.py::TestImpl::test_inherited_fails"


def test_a_project_without_tests_gives_an_empty_report(tmp_path: Path) -> None:
    run = run_pytest(tmp_path / "empty", {"tests/test_nothing.py": NO_TESTS})
    assert run.returncode == 5
    assert parse_junit(run.junit) == Results(())


# -- the report is untrusted input -------------------------------------------------------------


def test_a_malformed_report_raises_report_error(tmp_path: Path) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text('<testsuites><testsuite name="pytest"><testcase name="x"></testsuite>')
    with pytest.raises(ReportError, match=r"^junit\.xml: not valid XML \(mismatched tag"):
        parse_junit(bad)


def test_a_missing_report_raises_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"^junit\.xml: No such file or directory$"):
        parse_junit(tmp_path / "junit.xml")


def test_a_report_over_the_size_limit_raises_report_error(
    mixed: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = mixed.junit.stat().st_size
    monkeypatch.setattr(junit, "MAX_REPORT_BYTES", size - 1)
    with pytest.raises(ReportError, match=f"{size} bytes, more than {size - 1}"):
        parse_junit(mixed.junit)
    monkeypatch.setattr(junit, "MAX_REPORT_BYTES", size)
    assert len(parse_junit(mixed.junit).cases) == 11


def test_node_id_without_file_falls_back_to_classname() -> None:
    assert Case("pkg.mod.TestX", "test_y", "passed", 0.0).node_id == "pkg.mod.TestX::test_y"
    assert Case("", "test_y", "passed", 0.0).node_id == "test_y"


def test_a_report_of_too_many_elements_is_refused_without_building_it() -> None:
    # 64 MB of `<testcase/>` was 20 s and 1.7 GB as one tree, in the service process.
    data = b"<r>" + b"<testcase/>" * (MAX_ELEMENTS + 1) + b"</r>"
    with pytest.raises(ReportError, match="more than 1000000 XML elements"):
        parse_junit_bytes(data, "junit-0.xml")


def test_cases_read_as_a_stream_are_all_there() -> None:
    data = b'<testsuite><testcase name="a"/><x><testcase name="b"><failure message="m"/>'
    data += b"</testcase></x></testsuite>"
    cases = parse_junit_bytes(data, "junit-0.xml").cases
    assert [(c.name, c.outcome) for c in cases] == [("a", "passed"), ("b", "failed")]
