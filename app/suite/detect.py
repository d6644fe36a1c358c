"""Decide what to run for a repository that has no Conveyor configuration, as a person would.

A person reading a Python project looks for where it says how its tests run, most explicit first:

1. tox (tox.ini, tox.toml, `[tool.tox]` in pyproject.toml, `[tox:tox]` in setup.cfg): the main test
   environment's deps, extras, dependency groups and commands, translated into pip and shell
   commands when simple; otherwise tox itself is run.
2. nox (noxfile.py, read with `ast`, never imported): the test session's `session.install(...)` and
   `session.run(...)` literal arguments, translated; otherwise nox itself is run.
3. hatch environments (`[tool.hatch.envs.*]` or hatch.toml) with a test script, translated.
4. Otherwise: the test dependencies the project declares (PEP 735 dependency groups, extras,
   requirements files, Poetry groups, PDM dev-dependencies, setup.py `tests_require`), the project
   itself (editable) when it is a package, then pytest, or `python -m unittest` when nothing points
   at pytest.

Translating rather than running tox or nox keeps the install step separate from the test step: the
environment can then be cached, the test step runs without the network, and pytest's JUnit report
can be collected. A pre-commit config adds a second check, `pre-commit`.

Commands run with `sh -c` in the project's root, inside a fresh virtualenv already on PATH.

This module puts the rules in that order and makes checks of what the first that applies finds;
each rule is a module of its own (`tox`, `nox`, `hatch`, `pip`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

from app.suite.hatch import hatch_recipe
from app.suite.nox import nox_recipe
from app.suite.pip import pip_recipe
from app.suite.plan import CheckSpec, Plan
from app.suite.pre_commit import PRE_COMMIT_CONFIG, pre_commit_check
from app.suite.project import (
    Project,
    existing_dependency_files,
    find_tests,
    read_project,
    setup_call_kwargs,
    table,
)
from app.suite.pytest_config import PytestConfig, read_pytest_config
from app.suite.recipe import Recipe
from app.suite.tox import tox_recipe

TESTS_CHECK = "tests"
HOW_TO_CHANGE = (
    "To run something else, add `[tool.conveyor.checks.tests]` to pyproject.toml "
    "(or a `.conveyor.yml`) — see README."
)


# --------------------------------------------------------------------------------------------
# The rules


def detect(root: Path, python: str | None = None) -> Plan:
    """The plan for a repository without Conveyor configuration. `python`: the version its
    tests check runs on ("3.13"), when known: tox's settings depend on it."""
    project = read_project(root)
    pytest_config = read_pytest_config(root)
    tests = find_tests(root, pytest_config)
    checks: list[CheckSpec] = []
    notes: list[str] = []
    if tests.found:
        recipe = (
            tox_recipe(project, python)
            or nox_recipe(project)
            or hatch_recipe(project, tests)
            or pip_recipe(project, tests)
        )
        checks.append(_tests_check(project, recipe))
    else:
        notes.append(_no_tests_note(pytest_config))
    if project.has(PRE_COMMIT_CONFIG):
        checks.append(pre_commit_check(root))
    # Every check's summary says why the plan is what it is (a pre-commit check alone, say).
    checks = [replace(c, explanation=(*c.explanation, *notes)) for c in checks]
    return Plan(checks=tuple(checks), origin="detected", notes=tuple(notes))


def _no_tests_note(config: PytestConfig) -> str:
    names = " or ".join(f"`{pattern}`" for pattern in config.python_files)
    where = (
        "under " + ", ".join(f"`{path}`" for path in config.testpaths)
        if config.testpaths
        else "in the repository"
    )
    told = f" (as {config.source} says)" if config.found else ""
    return (
        f"No tests found: no {names} files {where}{told}. "
        "Add tests, or say what to run in `[tool.conveyor.checks]` — see README."
    )


def _tests_check(project: Project, recipe: Recipe) -> CheckSpec:
    files = dict.fromkeys(existing_dependency_files(project.root) + recipe.files)
    explanation = (
        "Detected: " + "; ".join(recipe.detected) + ".",
        *recipe.details,
        HOW_TO_CHANGE,
    )
    return CheckSpec(
        name=TESTS_CHECK,
        python="",
        install=recipe.install,
        test=recipe.test,
        env=recipe.env,
        network=recipe.network,
        tool_runs_itself=recipe.tool_runs_itself,
        dependency_files=tuple(files),
        explanation=explanation,
    )


# --------------------------------------------------------------------------------------------
# Python version the project requires


def requires_python(root: Path) -> str | None:
    """The project's Python requirement as a PEP 440 specifier (`>=3.10`), if it states one."""
    project = read_project(root)
    stated = table(project.pyproject, "project").get("requires-python")
    if isinstance(stated, str):
        return stated
    poetry_python = table(project.pyproject, "tool", "poetry", "dependencies").get("python")
    if isinstance(poetry_python, str):
        return _poetry_specifier(poetry_python)
    cfg = project.setup_cfg.get("options", "python_requires", fallback=None)
    if cfg:
        return cfg.strip()
    node = setup_call_kwargs(project.setup_py).get("python_requires")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _poetry_specifier(constraint: str) -> str:
    """Poetry's `^3.10` and `~3.10` in PEP 440 terms; other forms already are."""
    clauses = []
    for clause in constraint.split(","):
        clause = clause.strip()
        found = re.fullmatch(r"([\^~])\s*(\d+)(?:\.(\d+))?(?:\.\d+)?", clause)
        if not found:
            clauses.append(clause)
            continue
        major, minor = int(found.group(2)), int(found.group(3) or 0)
        upper = f"{major + 1}.0" if found.group(1) == "^" else f"{major}.{minor + 1}"
        clauses += [f">={major}.{minor}", f"<{upper}"]
    return ",".join(clauses)
