"""What Conveyor plans for repositories without configuration, on projects shaped like real ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.suite.detect import HOW_TO_CHANGE, detect, requires_python
from app.suite.plan import DEFAULT_TIMEOUT, CheckSpec, ConfigError, Plan
from app.suite.pre_commit import WRAPPER
from app.suite.project import find_tests
from app.suite.pytest_config import read_pytest_config
from tests.suite import projects
from tests.suite.projects import write
from tests.suite.test_repository_files import within


def planned_tests(root: Path) -> CheckSpec:
    plan = detect(root)
    assert plan.origin == "detected"
    assert plan.notes == ()
    (check,) = [c for c in plan.checks if c.name == "tests"]
    assert check.python == ""
    assert check.timeout == DEFAULT_TIMEOUT
    assert check.explanation[-1] == HOW_TO_CHANGE
    return check


# ---- pytest or unittest; plain folders


def test_setup_py_unittest(tmp_path: Path) -> None:
    check = planned_tests(projects.setup_py_unittest(tmp_path))
    assert check.install == ("python -m pip install -e .",)
    assert check.test == ("python -m unittest discover -s tests -t . -v",)
    assert check.explanation[0] == (
        "Detected: the project itself (editable); unittest (no sign of pytest)."
    )


def test_unittest_folder_without_init_and_at_the_root(tmp_path: Path) -> None:
    case = "import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        pass\n"
    write(tmp_path / "a", {"tests/test_x.py": case})
    assert planned_tests(tmp_path / "a").test == ("python -m unittest discover -s tests -v",)
    write(tmp_path / "b", {"test_x.py": case})
    assert planned_tests(tmp_path / "b").test == ("python -m unittest discover -v",)


def test_testcases_with_a_conftest_run_under_pytest(tmp_path: Path) -> None:
    projects.setup_py_unittest(tmp_path)
    write(tmp_path, {"tests/conftest.py": ""})
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install -e . pytest",)
    assert check.test == ("python -m pytest tests",)


def test_bare_folder_of_tests(tmp_path: Path) -> None:
    check = planned_tests(projects.bare_tests(tmp_path))
    assert check.install == ("python -m pip install pytest",)
    assert check.test == ("python -m pytest",)
    assert check.dependency_files == ()
    assert check.explanation[0] == ("Detected: pytest (not declared by the project: installed).")


def test_tests_in_hidden_or_vendored_folders_do_not_count(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".venv/lib/site-packages/x/test_x.py": "def test_x():\n    pass\n",
            "node_modules/y/test_y.py": "def test_y():\n    pass\n",
            "build/lib/test_z.py": "def test_z():\n    pass\n",
            "crates/linter/resources/test/fixtures/test_rule.py": "import os\n",
            "src/pkg/_vendor/lib/test_lib.py": "def test_lib():\n    pass\n",
            "src/x.py": "",
        },
    )
    plan = detect(tmp_path)
    assert plan.checks == ()


# ---- pre-commit, no tests, errors


def test_pre_commit_is_a_second_check(tmp_path: Path) -> None:
    plan = detect(projects.with_pre_commit(tmp_path))
    assert [c.name for c in plan.checks] == ["tests", "pre-commit"]
    assert plan.checks[1] == CheckSpec(
        name="pre-commit",
        python="",
        install=("python -m pip install pre-commit", f"{WRAPPER} install-hooks"),
        test=("pre-commit run --all-files --show-diff-on-failure",),
        dependency_files=(".pre-commit-config.yaml",),
        explanation=(
            "Detected: `.pre-commit-config.yaml`; runs every hook on every file "
            "(`pre-commit run --all-files`).",
            "To change it, edit the hooks there, or add `[tool.conveyor.checks]` — see README.",
        ),
    )


def test_no_tests(tmp_path: Path) -> None:
    assert detect(projects.no_tests(tmp_path)) == Plan(
        checks=(),
        origin="detected",
        notes=(
            "No tests found: no `test_*.py` or `*_test.py` files in the repository. "
            "Add tests, or say what to run in `[tool.conveyor.checks]` — see README.",
        ),
    )


def test_no_tests_but_pre_commit(tmp_path: Path) -> None:
    projects.no_tests(tmp_path)
    write(tmp_path, {".pre-commit-config.yaml": "repos: []\n"})
    plan = detect(tmp_path)
    assert [c.name for c in plan.checks] == ["pre-commit"]
    assert plan.notes[0].startswith("No tests found")


def test_invalid_pyproject_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project\n", "test_x.py": ""})
    with pytest.raises(ConfigError) as caught:
        detect(tmp_path)
    assert (caught.value.path, caught.value.line) == ("pyproject.toml", 1)


@pytest.mark.parametrize(
    ("files", "spec"),
    [
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.10"\n'}, ">=3.10"),
        ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.9"\n'}, ">=3.9,<4.0"),
        ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "~3.11"\n'}, ">=3.11,<3.12"),
        ({"setup.cfg": "[options]\npython_requires = >=3.8\n"}, ">=3.8"),
        ({"setup.py": "setup(python_requires='>=3.7, <4')\n"}, ">=3.7, <4"),
        ({"setup.py": "setup()\n"}, None),
    ],
)
def test_requires_python(tmp_path: Path, files: dict[str, str], spec: str | None) -> None:
    write(tmp_path, files)
    assert requires_python(tmp_path) == spec


# ---- files that lead outside the repository, or are not files (issue 9)

CANARY = "SECRET-CANARY-1234: x\n"


def repo_beside_host_files(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with a pytest-neutral test, and a folder of host files beside it."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secrets.json").write_text(CANARY)
    repo = write(tmp_path / "repo", {"tests/test_plain.py": "def check():\n    pass\n"})
    return repo, host


def test_a_test_file_linked_to_dev_zero_does_not_hang_planning(tmp_path: Path) -> None:
    repo, _ = repo_beside_host_files(tmp_path)
    (repo / "tests" / "test_zero.py").symlink_to("/dev/zero")
    with within(10):
        check = planned_tests(repo)
    assert check.test == ("python -m pytest tests",)


def test_a_test_file_linked_outside_is_not_read(tmp_path: Path) -> None:
    # Read, this host file would make the tests unittest's; it is not read, so pytest it is.
    repo, host = repo_beside_host_files(tmp_path)
    (host / "test_host.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n    pass\n")
    (repo / "tests" / "test_host.py").symlink_to(host / "test_host.py")
    (repo / "tests" / "test_up.py").symlink_to("../../host/test_host.py")
    check = planned_tests(repo)
    assert check.test == ("python -m pytest tests",)
    assert check.explanation[0] == ("Detected: pytest (not declared by the project: installed).")


def test_a_test_file_linked_inside_is_read(tmp_path: Path) -> None:
    repo, _ = repo_beside_host_files(tmp_path)
    write(repo, {"shared/unit.py": "import unittest\n\nclass T(unittest.TestCase):\n    pass\n"})
    (repo / "tests" / "test_unit.py").symlink_to("../shared/unit.py")
    check = planned_tests(repo)
    assert check.test == ("python -m unittest discover -s tests -v",)


def test_tests_in_a_folder_linked_outside_are_not_walked(tmp_path: Path) -> None:
    repo, host = repo_beside_host_files(tmp_path)
    (host / "test_host.py").write_text("import unittest\n")
    (repo / "more").symlink_to(host, target_is_directory=True)
    assert find_tests(repo).paths == ("tests/test_plain.py",)


def test_test_files_that_are_fifos_or_huge_are_skipped(tmp_path: Path) -> None:
    repo, _ = repo_beside_host_files(tmp_path)
    os.mkfifo(repo / "tests" / "test_fifo.py")
    write(repo, {"tests/test_huge.py": "import unittest\n" + "#" * (1024 * 1024) + "\n"})
    with within(10):
        tests = find_tests(repo)
    assert tests.paths == ("tests/test_fifo.py", "tests/test_huge.py", "tests/test_plain.py")
    assert not tests.unittest_style  # neither was read


@pytest.mark.parametrize(
    "name", ["pyproject.toml", "setup.cfg", "setup.py", "tox.ini", "tox.toml", "noxfile.py"]
)
def test_a_configuration_file_linked_outside_fails_the_plan_unread(
    tmp_path: Path, name: str
) -> None:
    repo, host = repo_beside_host_files(tmp_path)
    (repo / name).symlink_to(host / "secrets.json")
    with pytest.raises(ConfigError) as caught:
        detect(repo)
    assert caught.value.path == name
    assert "outside the repository" in caught.value.message
    assert "CANARY" not in str(caught.value)
    assert (host / "secrets.json").read_text() == CANARY


def test_hatch_toml_linked_outside_fails_the_plan_unread(tmp_path: Path) -> None:
    repo, host = repo_beside_host_files(tmp_path)
    (repo / "hatch.toml").symlink_to(host / "secrets.json")
    with pytest.raises(ConfigError) as caught:
        detect(repo)
    assert caught.value.path == "hatch.toml"
    assert "CANARY" not in str(caught.value)


def test_files_only_noted_are_absent_when_they_lead_outside(tmp_path: Path) -> None:
    # Conveyor does not read these, it only names them (for the environment key, for pytest or
    # pre-commit in the sandbox): a link out of the repository is as good as no file.
    repo, host = repo_beside_host_files(tmp_path)
    for name in ("poetry.lock", "uv.lock", ".pre-commit-config.yaml", "pytest.ini"):
        (repo / name).symlink_to(host / "secrets.json")
    plan = detect(repo)
    assert [c.name for c in plan.checks] == ["tests"]
    assert plan.checks[0].dependency_files == ()
    assert plan.checks[0].test == ("python -m pytest tests",)  # pytest.ini would drop `tests`


# ---- pytest's own configuration says where the tests are and how they are named

TESTS_UNDERSCORE = {"checks/tests_shapes.py": "def test_area():\n    assert 2 * 3 == 6\n"}


@pytest.mark.parametrize(
    "config",
    [
        {
            "pyproject.toml": '[tool.pytest.ini_options]\npython_files = ["tests_*.py"]\n'
            'testpaths = ["checks"]\n'
        },
        {"pyproject.toml": '[tool.pytest]\npython_files = ["tests_*.py"]\ntestpaths = "checks"\n'},
        {"pytest.ini": "[pytest]\npython_files = tests_*.py check_*.py\ntestpaths = checks\n"},
        {"setup.cfg": "[tool:pytest]\npython_files =\n    tests_*.py\ntestpaths = checks\n"},
        {"tox.ini": "[pytest]\npython_files = tests_*.py\ntestpaths = check*\n"},
    ],
    ids=["ini_options", "pytest9-table", "pytest.ini", "setup.cfg", "tox.ini"],
)
def test_tests_named_by_python_files_are_found(tmp_path: Path, config: dict[str, str]) -> None:
    write(tmp_path, {**config, **TESTS_UNDERSCORE, "checks/helpers.py": ""})
    assert find_tests(tmp_path, read_pytest_config(tmp_path)).paths == ("checks/tests_shapes.py",)
    assert find_tests(tmp_path).paths == ()  # by pytest's default names: nothing
    assert [c.name for c in detect(tmp_path).checks] == ["tests"]
    if "tox.ini" not in config:  # (tox.ini makes it a tox project)
        # pytest reads its own configuration: no folder is named to it
        assert planned_tests(tmp_path).test == ("python -m pytest",)


def test_testpaths_limit_discovery_and_norecursedirs_is_not_entered(tmp_path: Path) -> None:
    test = "def test_x():\n    pass\n"
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\ntestpaths = tests\nnorecursedirs = slow_*\n",
            "tests/slow_ones/test_slow.py": test,
            "examples/test_example.py": test,
        },
    )
    plan = detect(tmp_path)
    assert plan.checks == ()
    assert plan.notes == (
        "No tests found: no `test_*.py` or `*_test.py` files under `tests` (as pytest.ini "
        "[pytest] says). Add tests, or say what to run in `[tool.conveyor.checks]` — see README.",
    )


def test_the_first_file_pytest_reads_wins(tmp_path: Path) -> None:
    # pytest.ini before pyproject.toml before tox.ini before setup.cfg, as pytest's rootdir rules.
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\npython_files = ["tests_*.py"]\n',
            "setup.cfg": "[tool:pytest]\npython_files = check_*.py\n",
            "check_x.py": "def test_x():\n    pass\n",
        },
    )
    assert (
        detect(tmp_path)
        .notes[0]
        .startswith("No tests found: no `tests_*.py` files in the repository (as pyproject.toml ")
    )
    write(tmp_path, {"pytest.ini": "[pytest]\npython_files = check_*.py\n"})
    assert planned_tests(tmp_path).test == ("python -m pytest",)


def test_the_no_tests_note_reaches_the_pre_commit_check(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.pytest]\ntestpaths = ["tests"]\n'})
    write(tmp_path, {".pre-commit-config.yaml": "repos: []\n", "test_root.py": ""})
    plan = detect(tmp_path)
    (pre_commit,) = plan.checks
    assert pre_commit.explanation[-1] == plan.notes[0]
    assert plan.notes[0].startswith("No tests found: no `test_*.py` or `*_test.py` files under")


@pytest.mark.parametrize(
    ("config", "skipped"),
    [
        ("ci:\n  skip: [no-commit-to-branch, mypy]\nrepos: []\n", ("no-commit-to-branch", "mypy")),
        ("ci:\n  autoupdate_schedule: monthly\nrepos: []\n", ()),
        ('ci:\n  skip: ["a,b", c]\n', ("c",)),  # a comma would make two ids of one
        ("a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nci: {skip: *b}\n" * 40, ()),  # hostile
        ("repos: [\n", ()),  # pre-commit says what is wrong with it
    ],
)
def test_the_pre_commit_check_skips_what_pre_commit_ci_skips(
    tmp_path: Path, config: str, skipped: tuple[str, ...]
) -> None:
    write(tmp_path, {".pre-commit-config.yaml": config})
    (check,) = detect(tmp_path).checks
    assert check.env == ((("SKIP", ",".join(skipped)),) if skipped else ())
