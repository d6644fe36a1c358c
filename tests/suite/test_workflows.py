"""app/suite/workflows.py: what a project's GitHub workflows say about running its tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.suite.workflows import ci_pytest_arguments
from tests.suite.projects import write


def workflow(tmp_path: Path, run: str) -> Path:
    return write(
        tmp_path,
        {
            "toolz/__init__.py": "",
            "toolz/tests/test_x.py": "",
            "docs/index.rst": "",
            ".github/workflows/test.yml": f"""
                jobs:
                  test:
                    steps:
                      - run: pip install -e .
                      - run: |
                          {run}
                          pytest bench/
                """,
        },
    )


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        # toolz's own: the package's doctests, and only its folder.
        ("coverage run -m pytest --doctest-modules toolz/", ("--doctest-modules", "toolz/")),
        ("python -m pytest -n auto --cov=toolz toolz", ("toolz",)),
        ("pytest --doctest-glob '*.rst' docs tests_missing", ("--doctest-glob", "*.rst", "docs")),
        ("pytest --doctest-glob=*.txt", ("--doctest-glob=*.txt",)),
        ("pytest ../elsewhere /abs --pyargs toolz", ()),
        ("pytest ${{ matrix.paths }}", ()),  # an expression: the next pytest command counts
    ],
)
def test_the_first_pytest_command_s_doctest_options_and_paths(
    tmp_path: Path, run: str, expected: tuple[str, ...]
) -> None:
    workflow(tmp_path, run)
    assert ci_pytest_arguments(tmp_path) == expected


def test_no_workflow_no_arguments(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_x.py": ""})
    assert ci_pytest_arguments(tmp_path) == ()
