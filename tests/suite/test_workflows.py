"""app/suite/workflows.py: what a project's GitHub workflows say about running its tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.suite.workflows import ci_pytest_arguments, ci_runs_tox
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
                      - run: |
                          pip install coverage pycodestyle pytest
                          pip install -e .
                      - name: Pytest
                        run: |
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


def test_a_benchmark_run_is_not_the_tests_run(tmp_path: Path) -> None:
    # humanize's: its benchmark workflow comes first by name.
    write(
        tmp_path,
        {
            "toolz/__init__.py": "",
            "tests/test_benchmarks.py": "",
            ".github/workflows/benchmark.yml": "run: pytest tests/test_benchmarks.py --codspeed\n",
            ".github/workflows/ci.yml": "run: pytest --doctest-modules toolz\n",
        },
    )
    assert ci_pytest_arguments(tmp_path) == ("--doctest-modules", "toolz")


@pytest.mark.parametrize(
    ("text", "runs_tox"),
    [
        ("run: tox -e py", True),
        ("run: python -m tox", True),
        ("run: uvx --with tox-uv tox run", True),
        ("run: |\n  pip install tox tox-gh-actions\n", True),
        ("jobs:\n  tox:\n    runs-on: ubuntu-latest\n", True),
        # toolz's: pytest itself, and tox named only in a comment and a path.
        ("run: pytest --doctest-modules toolz/  # not tox\npaths: [tox.ini]\n", False),
        ("run: pip install toxiproxy-client && pytest", False),
    ],
)
def test_whether_the_ci_runs_tox(tmp_path: Path, text: str, runs_tox: bool) -> None:
    write(tmp_path, {".github/workflows/ci.yml": text})
    assert ci_runs_tox(tmp_path) is runs_tox
