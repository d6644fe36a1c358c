"""The Python versions a project declares, and the one its detected checks then run on."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.suite.declared_pythons import declared_pythons
from app.suite.planner import make_plan
from app.suite.project import read_project
from app.suite.runlog import Masker, RunLog
from tests.suite.projects import write
from tests.suite.sandbox.helpers import ISOLATED
from tests.suite.sandboxed import make_runner

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
                  lint:
                    steps:
                      - uses: actions/setup-python@v5
                        with:
                          python-version: "3.10"
                      - uses: pre-commit/action@v3.4.0
                      - run: pip install flit~=3.4
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


@ISOLATED
async def test_the_declared_python_runs_the_tests_in_the_sandbox(
    tmp_path: Path, venv_templates: Path
) -> None:
    runner = make_runner(tmp_path, venvs=venv_templates)
    installed = [i.version for i in runner.interpreters]
    newest = max(installed, key=lambda v: tuple(int(p) for p in v.split(".")[:2] if p.isdigit()))
    minor = ".".join(newest.split(".")[:2])
    older = [v for v in installed if not v.startswith(minor + ".")]
    if not older:
        pytest.skip("one Python version installed: nothing to choose between")
    # Declares the newest installed Python (the service's own may be older), in tox's env_list.
    project = write(
        tmp_path / "project",
        {
            "tox.ini": f"[tox]\nenvlist = py{minor.replace('.', '')}\nskipsdist = true\n\n"
            "[testenv]\ncommands = python -c 'import sys; print(\"running\", sys.version)'\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    (check,) = make_plan(project, installed).checks
    assert check.python == minor
    log = RunLog(tmp_path / "run" / "output.log", Masker(()))
    try:
        outcome = await runner.run(
            check, repository="repo", workspace=project, artifacts=tmp_path / "run", log=log
        )
    finally:
        log.close()
    text = (tmp_path / "run" / "output.log").read_text()
    assert outcome.returncode == 0, text
    assert f"running {minor}." in text
    assert f"Python {minor}: the newest of the versions the project declares" in " ".join(
        outcome.about
    )
