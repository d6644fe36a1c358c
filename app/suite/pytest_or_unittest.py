"""Which test runner a project uses, and where to point it, when no tool's configuration says.

Both the pip rule and a hatch env without a test script fall back on this choice.
"""

from __future__ import annotations

import shlex
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from app.suite.project import Project, TestFiles
from app.suite.pytest_config import read_pytest_config
from app.suite.repository_files import is_dir, is_file
from app.suite.workflows import ci_pytest_arguments

PYTEST = "python -m pytest"


@dataclass(frozen=True)
class TestCommand:
    command: str
    description: str
    needs_pytest_install: bool


def choose_test_command(
    project: Project, tests: TestFiles, declared: AbstractSet[str]
) -> TestCommand:
    """pytest when anything points at it, else unittest when the tests are TestCases."""
    configured = _pytest_configured(project)
    uses_pytest = "pytest" in declared or configured or tests.has_conftest or tests.pytest_style
    if uses_pytest or not tests.unittest_style:
        # Without a pytest configuration, `tests/` is where a person would point it: pytest from
        # the root would also collect examples and benchmarks that need more than the tests do.
        target = "" if configured or not is_dir(project.root, "tests") else " tests"
        declared_note = "" if "pytest" in declared else " (not declared by the project: installed)"
        ci = ci_pytest_arguments(project.root)
        if ci:
            # The project's CI names what it collects (its package's doctests, say).
            target = " " + shlex.join(ci)
            declared_note += f" with `{shlex.join(ci)}` as the project's CI runs it"
        return TestCommand(f"{PYTEST}{target}", f"pytest{declared_note}", "pytest" not in declared)
    return TestCommand(
        _unittest_command(project.root, tests), "unittest (no sign of pytest)", False
    )


def _pytest_configured(project: Project) -> bool:
    return read_pytest_config(project.root).found


def _unittest_command(root: Path, tests: TestFiles) -> str:
    for folder in ("tests", "test"):
        if is_dir(root, folder) and tests.all_under(folder):
            # A package folder is imported as `tests.x` from the root; a plain folder's modules
            # are imported as top-level modules from inside it.
            top = " -t ." if is_file(root, f"{folder}/__init__.py") else ""
            return f"python -m unittest discover -s {folder}{top} -v"
    return "python -m unittest discover -v"
