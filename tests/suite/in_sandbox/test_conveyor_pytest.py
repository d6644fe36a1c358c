"""app/suite/in_sandbox/conveyor_pytest/, Conveyor's pytest plugin, on real pytest runs.

Every place is checked against the sample's source: the line the record names must be the
statement that failed, which is what a person sees under the annotation. (The parser of what it
writes: tests/report/test_pytest_report.py.) The hooks (writer.py, places.py, coverage.py and the
package's configure) need a real pytest session, so they are tested here as a whole; the parts that
work on plain values have their own tests in tests/suite/in_sandbox/conveyor_pytest/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from app.report.pytest_report import parse_pytest_report
from tests.report.pytest_samples import (
    BAD_IMPORT,
    BAD_SYNTAX,
    BASE,
    CONFTEST,
    CORE,
    EXTRAS,
    HELPERS,
    PLACES,
    PLACES_FILE,
    PROJECT,
    SUBTESTS,
    UNIT,
    Record,
    Run,
    by_id,
    dedent,
    line_of,
    records,
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
def tests(sample: Run) -> dict[str, Record]:
    return by_id(sample)


def test_pytest_ran_and_the_report_has_every_record(sample: Run) -> None:
    assert sample.returncode == 1, sample.output
    kinds = [record["type"] for record in records(sample)]
    assert kinds[0] == "start"
    assert kinds[-1] == "session"
    assert "internal" not in kinds
    start = records(sample)[0]
    assert start["pytest"] == pytest.__version__
    assert start["python"] == ".".join(map(str, sys.version_info[:3]))


def test_failed_bare_assert_is_on_the_assert_with_pytests_explanation(
    tests: dict[str, Record],
) -> None:
    record = tests[f"{PLACES_FILE}::test_bare_assert"]
    assert record["outcome"] == "failed"
    assert record["when"] == "call"
    assert (record["file"], record["line"]) == (PLACES_FILE, line_of(PLACES, "assert total == 3"))
    assert record["message"] == "assert 2 == 3"
    assert record["frames"] == [[PLACES_FILE, record["line"]]]
    assert record["details"].splitlines() == [
        f"{PLACES_FILE}:{record['line']}: in test_bare_assert",
        "    assert total == 3",
        "E   assert 2 == 3",
    ]
    assert record["duration"] >= 0


def test_assert_in_a_helper_is_placed_on_the_tests_calling_line(tests: dict[str, Record]) -> None:
    record = tests[f"{PLACES_FILE}::test_helper_assert"]
    call = line_of(PLACES, "check_equal(1, 2)")
    helper = line_of(HELPERS, "assert a == b")
    assert (record["file"], record["line"]) == (PLACES_FILE, call)
    # helpers.py is not a test module, so pytest did not rewrite it: the statement is the message.
    assert record["message"] == "assert a == b"
    assert record["frames"] == [[PLACES_FILE, call], ["tests/helpers.py", helper]]
    assert "tests/helpers.py:2: in check_equal" in record["details"]


def test_exception_deep_in_the_project_is_placed_where_it_was_raised(
    tests: dict[str, Record],
) -> None:
    record = tests[f"{PLACES_FILE}::test_deep_exception"]
    assert (record["file"], record["line"]) == (
        "mypkg/core.py",
        line_of(CORE, 'raise ValueError("too deep")'),
    )
    assert record["message"] == "ValueError: too deep"
    recursion = line_of(CORE, "return deep(n - 1)")
    assert record["frames"] == [
        [PLACES_FILE, line_of(PLACES, "deep(3)")],
        ["mypkg/core.py", recursion],
        ["mypkg/core.py", record["line"]],
    ]
    assert record["details"].endswith("E   ValueError: too deep")


def test_exception_from_the_stdlib_is_placed_on_the_innermost_project_frame(
    tests: dict[str, Record],
) -> None:
    record = tests[f"{PLACES_FILE}::test_stdlib_exception"]
    assert (record["file"], record["line"]) == (
        "mypkg/core.py",
        line_of(CORE, "return json.loads(text)"),
    )
    assert record["message"].startswith("json.decoder.JSONDecodeError: Expecting value")
    # The stdlib's frames are in the traceback people read, never in the places.
    assert all(not path.startswith("/") for path, _ in record["frames"])
    assert "json/decoder.py" in record["details"]


def test_fixture_error_is_placed_in_the_fixture(tests: dict[str, Record]) -> None:
    record = tests[f"{PLACES_FILE}::test_fixture_error"]
    assert record["outcome"] == "error"
    assert record["when"] == "setup"
    assert (record["file"], record["line"]) == (PLACES_FILE, line_of(PLACES, 'OSError("no disk")'))
    assert record["message"] == "OSError: no disk"
    shared = tests[f"{PLACES_FILE}::test_conftest_fixture_error"]
    assert (shared["file"], shared["line"]) == (
        "tests/conftest.py",
        line_of(CONFTEST, "raise KeyError"),
    )
    assert shared["message"] == "KeyError: 'missing setting'"


def test_teardown_error_is_its_own_record_after_the_pass(tests: dict[str, Record]) -> None:
    nodeid = f"{PLACES_FILE}::test_teardown_error"
    assert tests[nodeid]["outcome"] == "passed"
    record = tests[nodeid + "@teardown"]
    assert record["outcome"] == "error"
    assert record["when"] == "teardown"
    assert (record["file"], record["line"]) == (PLACES_FILE, line_of(PLACES, "cannot clean up"))
    assert record["message"] == "RuntimeError: cannot clean up"


def test_collection_error_from_a_bad_import_is_on_the_import(sample: Run) -> None:
    errors = by_id(sample, "collect_error")
    record = errors["tests/test_bad_import.py"]
    assert (record["file"], record["line"]) == (
        "tests/test_bad_import.py",
        line_of(BAD_IMPORT, "import no_such_module_anywhere"),
    )
    assert record["message"] == "ModuleNotFoundError: No module named 'no_such_module_anywhere'"
    assert "import no_such_module_anywhere" in record["details"]
    # pytest's own frames (importlib, the assertion rewriter) are not what people debug.
    assert "_pytest" not in record["details"]


def test_syntax_error_in_a_test_module_is_on_the_bad_line(sample: Run) -> None:
    record = by_id(sample, "collect_error")["tests/test_syntax.py"]
    assert (record["file"], record["line"]) == (
        "tests/test_syntax.py",
        line_of(BAD_SYNTAX, "def broken(:"),
    )
    assert record["message"] == "SyntaxError: invalid syntax"
    assert record["frames"] == [["tests/test_syntax.py", record["line"]]]
    assert "def broken(:" in record["details"]


def test_a_module_broken_for_tests_and_doctests_is_one_record(sample: Run) -> None:
    """--doctest-modules collects each module twice; pytest counts the error twice."""
    nodeids = [r["nodeid"] for r in records(sample) if r["type"] == "collect_error"]
    assert sorted(nodeids) == ["tests/test_bad_import.py", "tests/test_syntax.py"]


def test_parametrized_ids_are_pytests_own(tests: dict[str, Record]) -> None:
    ids = sorted(nodeid for nodeid in tests if "test_param" in nodeid)
    assert ids == [
        f"{PLACES_FILE}::test_param[a-1]",
        f"{PLACES_FILE}::test_param[with space [and brackets]]",
        f"{PLACES_FILE}::test_param[x::y]",
    ]
    failed = tests[f"{PLACES_FILE}::test_param[with space [and brackets]]"]
    assert failed["outcome"] == "failed"
    assert (failed["file"], failed["line"]) == (PLACES_FILE, line_of(PLACES, "assert value == 1"))
    assert failed["message"] == "assert 2 == 1"
    passed = tests[f"{PLACES_FILE}::test_param[a-1]"]
    # A passing test's place is where pytest places the test: its first decorator, or the `def`.
    assert (passed["file"], passed["line"]) == (PLACES_FILE, line_of(PLACES, "@pytest.mark.para"))


def test_test_in_a_class(tests: dict[str, Record]) -> None:
    record = tests[f"{PLACES_FILE}::TestGroup::test_method"]
    assert (record["file"], record["line"]) == (PLACES_FILE, line_of(PLACES, 'assert "a" == "b"'))
    assert record["message"].startswith("assert 'a' == 'b'")


def test_unittest_testcase_failure_and_exception(tests: dict[str, Record]) -> None:
    equal = tests["tests/test_unit.py::TestLegacy::test_equal"]
    assert (equal["file"], equal["line"]) == (
        "tests/test_unit.py",
        line_of(UNIT, "self.assertEqual(1, 2)"),
    )
    assert equal["message"] == "AssertionError: 1 != 2"
    # unittest hides its own assert methods; so does the report.
    assert "unittest/case.py" not in equal["details"]
    error = tests["tests/test_unit.py::TestLegacy::test_exception"]
    assert (error["file"], error["line"]) == ("tests/test_unit.py", line_of(UNIT, '{}["k"]'))
    assert error["message"] == "KeyError: 'k'"


def test_doctest_failure_is_on_the_failing_example(tests: dict[str, Record]) -> None:
    record = tests["mypkg/core.py::mypkg.core.add"]
    assert record["outcome"] == "failed"
    assert (record["file"], record["line"]) == ("mypkg/core.py", line_of(CORE, ">>> add(2, 2)"))
    assert record["message"] == ">>> add(2, 2)\nExpected:\n    5\nGot:\n    4"
    # An example that raises: still the example's line; the raising line is among the frames.
    raised = tests["mypkg/core.py::mypkg.core.divide"]
    example = line_of(CORE, ">>> divide(1, 0)")
    assert (raised["file"], raised["line"]) == ("mypkg/core.py", example)
    assert raised["message"] == ">>> divide(1, 0)\nZeroDivisionError: division by zero"
    assert raised["frames"] == [
        ["mypkg/core.py", example],
        ["mypkg/core.py", line_of(CORE, "return a / b")],
    ]


def test_skip_xfail_xpass(tests: dict[str, Record]) -> None:
    skipped = tests[f"{PLACES_FILE}::test_skipped"]
    assert (skipped["outcome"], skipped["when"], skipped["message"]) == (
        "skipped",
        "setup",
        "not today",
    )
    assert (skipped["file"], skipped["line"]) == (PLACES_FILE, line_of(PLACES, '"not today"'))
    xfailed = tests[f"{PLACES_FILE}::test_xfail"]
    assert (xfailed["outcome"], xfailed["message"]) == ("xfailed", "known bug")
    xpassed = tests[f"{PLACES_FILE}::test_xpass"]
    assert (xpassed["outcome"], xpassed["message"]) == ("xpassed", "maybe fixed")


def test_session_record(sample: Run) -> None:
    session = records(sample)[-1]
    assert session["exitstatus"] == 1
    assert session["coverage"] is None  # pytest-cov did not run
    assert session["duration"] >= 0


# -- re-run only the failed ---------------------------------------------------------------------

FIVE = dedent(
    """
    import pytest


    def test_one():
        pass


    def test_two():
        pass


    @pytest.mark.parametrize("n", [1, 10, 100], ids=["n1", "n10", "n[1]0"])
    def test_n(n):
        pass
    """
)


def test_only_the_listed_node_ids_run(tmp_path: Path) -> None:
    project = tmp_path / "only"
    write_project(project, {"pytest.ini": "[pytest]\n", "test_five.py": FIVE})
    listed = tmp_path / "failed.txt"
    listed.write_text("test_five.py::test_two\r\ntest_five.py::test_n[n[1]0]\n\n")
    run = run_pytest(project, ["-v"], extra_env={"CONVEYOR_ONLY": str(listed)})
    assert run.returncode == 0, run.output
    ran = {r["nodeid"] for r in records(run) if r["type"] == "test"}
    assert ran == {"test_five.py::test_two", "test_five.py::test_n[n[1]0]"}
    assert "2 passed, 3 deselected" in run.output
    # `n1` is a prefix of `n10`, not the same test.
    assert "test_n[n1] PASSED" not in run.output


def test_a_listed_module_runs_every_test_in_it(tmp_path: Path) -> None:
    """A collection error's node id is the module: re-running it means all its tests."""
    project = tmp_path / "module"
    write_project(project, {"pytest.ini": "[pytest]\n", "test_five.py": FIVE, "test_b.py": FIVE})
    listed = tmp_path / "failed.txt"
    listed.write_text("test_b.py\n")
    run = run_pytest(project, [], report=False, extra_env={"CONVEYOR_ONLY": str(listed)})
    assert "5 passed, 5 deselected" in run.output, run.output


def test_an_unreadable_list_runs_everything(tmp_path: Path) -> None:
    project = tmp_path / "unreadable"
    write_project(project, {"pytest.ini": "[pytest]\n", "test_five.py": FIVE})
    missing = str(tmp_path / "nowhere.txt")
    run = run_pytest(project, [], report=False, extra_env={"CONVEYOR_ONLY": missing})
    assert "5 passed in" in run.output, run.output


# -- never in the way -----------------------------------------------------------------------------

FAILING = {"pytest.ini": "[pytest]\n", "test_f.py": "def test_f():\n    assert 1 == 2\n"}


def test_without_conveyor_report_the_plugin_does_nothing(tmp_path: Path) -> None:
    project = tmp_path / "quiet"
    write_project(project, FAILING)
    run = run_pytest(project, [], report=False)
    assert run.returncode == 1
    assert not run.report.exists()
    assert list(project.iterdir()) == [project / "pytest.ini", project / "test_f.py"]
    bare = run_pytest(project, [], report=False, plugin=False)
    assert _summary(run.output) == _summary(bare.output)


def _summary(output: str) -> str:
    return output.strip().splitlines()[-1].rsplit(" in ", 1)[0]


def test_an_internal_error_does_not_change_the_exit_status(tmp_path: Path) -> None:
    project = tmp_path / "faulty"
    # The project's conftest breaks the plugin from the inside, the way a bug in it would.
    conftest = dedent(
        """
        from conveyor_pytest import places, writer


        def broken(*args, **kwargs):
            raise RuntimeError("plugin bug")


        # Where the hooks look them up.
        places.exception_place = broken
        writer.exception_place = broken
        writer.selected = broken
        writer.coverage_total = broken
        """
    )
    write_project(project, {**FAILING, "test_ok.py": "def test_ok():\n    pass\n"})
    (project / "conftest.py").write_text(conftest)
    only = tmp_path / "only.txt"
    only.write_text("test_f.py::test_f\n")
    run = run_pytest(project, [], extra_env={"CONVEYOR_ONLY": str(only)})
    assert run.returncode == 1, run.output
    assert "1 failed, 1 passed" in run.output
    kinds = [r["type"] for r in records(run)]
    assert kinds.count("internal") == 3  # modifyitems, makereport, coverage
    # The failure is still reported, from pytest's own traceback text.
    failed = next(r for r in records(run) if r["type"] == "test" and r["outcome"] == "failed")
    assert (failed["file"], failed["line"]) == ("test_f.py", 2)
    assert failed["message"] == "assert 1 == 2"
    assert records(run)[-1]["type"] == "session"
    parsed = parse_pytest_report(run.report.read_bytes(), "r")
    assert len(parsed.plugin_errors) == 3
    assert parsed.exitstatus == 1


def test_a_report_path_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    project = tmp_path / "unwritable"
    write_project(project, FAILING)
    run = run_pytest(project, [], report=False, extra_env={"CONVEYOR_REPORT": str(tmp_path)})
    assert run.returncode == 1
    assert "1 failed in" in run.output
    assert "conveyor" not in run.output.lower()


def test_coverage_is_pytest_covs_total(tmp_path: Path) -> None:
    """pytest-cov registers itself as `_cov` and sets `cov_total` before sessionfinish; a
    stand-in plugin does the same here (pytest-cov is not among the test dependencies)."""
    project = tmp_path / "cov"
    conftest = dedent(
        """
        class FakeCov:
            cov_total = 87.5


        def pytest_configure(config):
            config.pluginmanager.register(FakeCov(), "_cov")
        """
    )
    write_project(project, {"pytest.ini": "[pytest]\n", "conftest.py": conftest, "test_a.py": ""})
    (project / "test_a.py").write_text("def test_a():\n    pass\n")
    run = run_pytest(project, [])
    assert run.returncode == 0, run.output
    parsed = parse_pytest_report(run.report.read_bytes(), "r")
    assert parsed.coverage == 87.5
    assert parsed.exitstatus == 0


def test_paths_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    """pytest run from a subfolder (`cd backend && pytest`): paths still start at the root that
    holds `.git`, which is how GitHub names files."""
    repo = tmp_path / "repo"
    write_project(
        repo,
        {"backend/pytest.ini": "[pytest]\n", **{f"backend/{k}": v for k, v in FAILING.items()}},
    )
    (repo / ".git").mkdir()
    run = run_pytest(repo / "backend", [])
    failed = next(r for r in records(run) if r["type"] == "test")
    assert (failed["file"], failed["line"]) == ("backend/test_f.py", 2)


def test_older_pytest(tmp_path: Path, tests: dict[str, Record]) -> None:
    """The plugin on pytest 7.4 (a project's environment, not ours) places every failure as on
    the pytest we run. Only when asked: it installs pytest from the package index."""
    if not os.environ.get("CONVEYOR_TEST_OLD_PYTEST"):
        pytest.skip("set CONVEYOR_TEST_OLD_PYTEST=1 to install pytest 7.4 and run this")
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = str(env / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", "pytest==7.4.4"]
    subprocess.run(install, check=True, timeout=300)
    project = tmp_path / "old"
    write_project(project, PROJECT)
    run = run_pytest(
        project, ["--doctest-modules", "--continue-on-collection-errors"], python=python
    )
    assert records(run)[0]["pytest"] == "7.4.4"
    old = by_id(run)
    assert old.keys() == tests.keys()
    for nodeid, record in tests.items():
        for field in ("outcome", "when", "file", "line", "frames"):
            assert old[nodeid][field] == record[field], (nodeid, field)
    errors = by_id(run, "collect_error")
    assert errors["tests/test_bad_import.py"]["line"] == line_of(BAD_IMPORT, "import no_such")


# -- more shapes of failure -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Record]:
    project = tmp_path_factory.mktemp("extras")
    files = {"pytest.ini": "[pytest]\n", "tests/base.py": BASE, "tests/test_extras.py": EXTRAS}
    if int(pytest.__version__.split(".")[0]) >= 9:  # subtests are pytest's own from 9 on
        files["tests/test_subtests.py"] = SUBTESTS
    write_project(project, files)
    run = run_pytest(project, [])
    assert run.returncode == 1, run.output
    return {
        record["nodeid"] + (f" {record['subtest']}" if "subtest" in record else ""): record
        for record in records(run)
        if record["type"] == "test"
    }


EXTRAS_FILE = "tests/test_extras.py"


def test_exception_group_is_placed_by_its_first_exception(extras: dict[str, Record]) -> None:
    record = extras[f"{EXTRAS_FILE}::test_group"]
    assert (record["file"], record["line"]) == (EXTRAS_FILE, line_of(EXTRAS, "assert value == 2"))
    assert record["message"] == "assert 0 == 2"
    assert record["frames"][0] == [EXTRAS_FILE, line_of(EXTRAS, 'raise ExceptionGroup("several"')]
    assert "ExceptionGroup: several (2 sub-exceptions)" in record["details"]


def test_a_helper_that_hides_its_frame_blames_its_caller(extras: dict[str, Record]) -> None:
    record = extras[f"{EXTRAS_FILE}::test_hidden_helper"]
    assert (record["file"], record["line"]) == (EXTRAS_FILE, line_of(EXTRAS, "expect_positive(-1)"))
    assert record["message"] == "Failed: -1 is not positive"


def test_pytest_raises_that_did_not_raise(extras: dict[str, Record]) -> None:
    record = extras[f"{EXTRAS_FILE}::test_raises_mismatch"]
    assert record["file"] == EXTRAS_FILE
    # Python names the `with` line for an exception raised on leaving the block.
    assert record["line"] in (line_of(EXTRAS, "with pytest.raises"), line_of(EXTRAS, "  pass"))
    assert record["message"].startswith("Failed: DID NOT RAISE")


def test_inherited_test_is_placed_where_it_is_defined(extras: dict[str, Record]) -> None:
    record = extras[f"{EXTRAS_FILE}::TestImpl::test_inherited"]
    assert (record["file"], record["line"]) == (
        "tests/base.py",
        line_of(BASE, "assert self.value == 2"),
    )


def test_failed_subtests_are_named_and_passing_ones_not_counted(
    extras: dict[str, Record],
) -> None:
    if int(pytest.__version__.split(".")[0]) < 9:
        pytest.skip("pytest's own subtests came with pytest 9")
    nodeid = "tests/test_subtests.py::test_cases"
    subtest = extras[f"{nodeid} [case] (i=1)"]
    assert (subtest["file"], subtest["line"]) == (
        "tests/test_subtests.py",
        line_of(SUBTESTS, "assert i != 1"),
    )
    assert subtest["message"] == "assert 1 != 1"
    # The test itself fails for its subtest; the two subtests that passed are not records.
    assert extras[nodeid]["outcome"] == "failed"
    assert [key for key in extras if key.startswith(nodeid)] == [f"{nodeid} [case] (i=1)", nodeid]
    case = parse_pytest_report(report_line(**subtest), "r").results.cases[0]
    assert (case.name, case.node_id) == ("test_cases [case] (i=1)", nodeid)


def test_a_pytest_started_by_the_projects_tests_is_not_reported(tmp_path: Path) -> None:
    """A project test that runs pytest in a subprocess passes our variables on (and, in the
    sandbox, PYTEST_ADDOPTS): that inner run must neither write to the report nor deselect."""
    project = tmp_path / "nested"
    outer = dedent(
        """
        import os
        import subprocess
        import sys


        def test_runs_pytest(tmp_path):
            (tmp_path / "test_inner.py").write_text("def test_inner():\\n    assert 0\\n")
            command = [sys.executable, "-m", "pytest", "-p", "conveyor_pytest", str(tmp_path)]
            inner = subprocess.run(command, cwd=tmp_path, env=os.environ, capture_output=True)
            assert inner.returncode == 1, inner.stdout  # ran, and failed: nothing deselected


        def test_other():
            pass
        """
    )
    write_project(project, {"pytest.ini": "[pytest]\n", "test_outer.py": outer})
    only = tmp_path / "only.txt"
    only.write_text("test_outer.py::test_runs_pytest\n")
    run = run_pytest(project, [], extra_env={"CONVEYOR_ONLY": str(only)})
    assert run.returncode == 0, run.output
    assert "1 passed, 1 deselected" in run.output
    kinds = [record["type"] for record in records(run)]
    assert kinds == ["start", "test", "session"]
    assert records(run)[1]["nodeid"] == "test_outer.py::test_runs_pytest"
