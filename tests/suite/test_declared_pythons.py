"""The Python versions a project declares, and the one its detected checks then run on."""

from __future__ import annotations

from pathlib import Path

from app.suite.declared_pythons import declared_pythons
from app.suite.planner import make_plan
from app.suite.project import read_project
from tests.suite.projects import write

INSTALLED = ("3.9.18", "3.11.7", "3.12.1", "3.13.0")


def declaring(root: Path) -> Path:
    return write(
        root,
        {
            "pyproject.toml": """
                [project]
                name = "lib"
                version = "1"
                requires-python = ">=3.9,<3.13"
                classifiers = [
                    "Programming Language :: Python :: 3",
                    "Programming Language :: Python :: 3.9",
                    "Programming Language :: Python :: 3.10",
                ]
                """,
            "tox.ini": "[tox]\nenvlist = py3{9,10}, lint, py311-django42\n\n"
            "[testenv]\nskip_install = true\ndeps = pytest\ncommands = pytest\n",
            ".github/workflows/ci.yml": """
                jobs:
                  test:
                    strategy:
                      matrix:
                        python-version:
                          - "3.10"
                          - "3.12"
                          - "3.13"  # not allowed by requires-python
                        django: ["4.2"]
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )


def test_the_versions_declared_in_classifiers_tox_and_ci(tmp_path: Path) -> None:
    declared = declared_pythons(read_project(declaring(tmp_path)))
    assert declared.versions == ("3.9", "3.10", "3.11", "3.12", "3.13")
    assert declared.sources == ("classifiers", "tox env_list", "GitHub workflows")


def test_the_newest_declared_installed_and_allowed_python_is_chosen(tmp_path: Path) -> None:
    plan = make_plan(declaring(tmp_path), INSTALLED)
    (check,) = plan.checks
    # 3.13 is declared in CI and installed, but requires-python rules it out; 3.10 is not here.
    assert check.python == "3.12"
    assert (
        "Python 3.12: the newest of the versions the project declares (3.9, 3.10, 3.11, 3.12, "
        "3.13, in its classifiers and tox env_list and GitHub workflows) that is installed here."
    ) in check.explanation


def test_without_declarations_the_default_stays(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_x.py": "def test_x():\n    pass\n"})
    (check,) = make_plan(tmp_path, INSTALLED).checks
    assert check.python == ""
