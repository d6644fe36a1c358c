"""app/suite/pytest_or_unittest.py: pytest or unittest, and where to point it, when no tool's
configuration says."""

from __future__ import annotations

from pathlib import Path

from app.suite import pytest_or_unittest
from app.suite.project import find_tests, read_project
from app.suite.pytest_or_unittest import choose_test_command
from tests.suite.projects import write

PYTEST_TEST = "def test_x():\n    assert True\n"
UNITTEST_TEST = (
    "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        pass\n"
)


def choose(root: Path, declared: set[str] | None = None) -> pytest_or_unittest.TestCommand:
    return choose_test_command(read_project(root), find_tests(root), declared or set())


def test_pytest_style_tests_get_pytest_on_the_tests_folder_installed(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_x.py": PYTEST_TEST, "examples/test_example.py": PYTEST_TEST})
    assert choose(tmp_path) == pytest_or_unittest.TestCommand(
        "python -m pytest tests", "pytest (not declared by the project: installed)", True
    )


def test_declared_pytest_is_not_installed_again(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_x.py": UNITTEST_TEST})
    # TestCases, but the project declares pytest: pytest runs them.
    assert choose(tmp_path, {"pytest"}) == pytest_or_unittest.TestCommand(
        "python -m pytest tests", "pytest", False
    )


def test_a_pytest_configuration_says_where_so_no_folder_is_named(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n", "tests/test_x.py": UNITTEST_TEST})
    assert choose(tmp_path).command == "python -m pytest"


def test_a_conftest_means_pytest(tmp_path: Path) -> None:
    write(tmp_path, {"conftest.py": "", "test_x.py": UNITTEST_TEST})
    # No tests/ folder: pytest from the root.
    assert choose(tmp_path).command == "python -m pytest"


def test_the_ci_s_pytest_arguments_are_kept(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/test_x.py": PYTEST_TEST,
            "src/lib/__init__.py": "",
            ".github/workflows/ci.yml": "steps:\n  - run: pytest --doctest-modules src tests\n",
        },
    )
    chosen = choose(tmp_path, {"pytest"})
    assert chosen.command == "python -m pytest --doctest-modules src tests"
    assert chosen.description == (
        "pytest with `--doctest-modules src tests` as the project's CI runs it"
    )


def test_test_cases_without_any_sign_of_pytest_run_with_unittest(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_x.py": UNITTEST_TEST})
    assert choose(tmp_path) == pytest_or_unittest.TestCommand(
        "python -m unittest discover -s tests -v", "unittest (no sign of pytest)", False
    )
    # A package of tests is imported from the root.
    write(tmp_path, {"tests/__init__.py": ""})
    assert choose(tmp_path).command == "python -m unittest discover -s tests -t . -v"


def test_unittest_over_tests_in_several_folders_discovers_from_the_root(tmp_path: Path) -> None:
    write(tmp_path, {"test/test_a.py": UNITTEST_TEST, "other/test_b.py": UNITTEST_TEST})
    assert choose(tmp_path).command == "python -m unittest discover -v"
    write(tmp_path / "only", {"test/test_a.py": UNITTEST_TEST})
    assert choose(tmp_path / "only").command == "python -m unittest discover -s test -v"


def test_no_tests_at_all_is_pytest(tmp_path: Path) -> None:
    # Nothing to tell by: pytest, which also runs TestCases.
    assert choose(tmp_path).command == "python -m pytest"
