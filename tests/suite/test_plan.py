"""app/suite/plan.py: the plan's values, their trip through JSON, and the check runs a plan
makes."""

from __future__ import annotations

import json

import pytest

from app.suite.plan import (
    DEFAULT_TIMEOUT,
    CheckSpec,
    ConfigError,
    Plan,
    check_names,
    plan_from_json,
    plan_to_json,
)

FULL = CheckSpec(
    name="tests (3.12)",
    python="3.12",
    install=("python -m pip install -e .", "python -m pip install pytest"),
    test=("pytest -x",),
    timeout=60.0,
    env=(("A", "b"), ("EMPTY", "")),
    network=True,
    tool_runs_itself=True,
    dependency_files=("pyproject.toml", "uv.lock"),
    secrets=("TOKEN",),
    explanation=("Detected: pytest.", "Say what to run in `[tool.conveyor]`."),
)


def test_a_plan_comes_back_whole_from_json() -> None:
    plan = Plan(
        checks=(FULL, CheckSpec("lint", "", (), ("pre-commit run -a",))),
        origin="detected",
        notes=("No tests found.",),
    )
    # Through text, as the planning child hands it over: lists come back as tuples.
    again = plan_from_json(json.loads(json.dumps(plan_to_json(plan))))
    assert again == plan
    assert again.checks[1].timeout == DEFAULT_TIMEOUT
    assert hash(again) == hash(plan)


def test_json_missing_a_field_is_refused() -> None:
    data = plan_to_json(Plan(checks=(FULL,), origin=".conveyor.yml"))
    del data["checks"][0]["secrets"]
    with pytest.raises(KeyError):
        plan_from_json(data)
    data = plan_to_json(Plan(checks=(FULL,), origin=".conveyor.yml"))
    data["checks"][0]["unknown"] = 1
    with pytest.raises(TypeError):
        plan_from_json(data)


def test_a_config_error_says_where_and_what() -> None:
    error = ConfigError(".conveyor.yml", 3, "`checks.tests.run` is missing")
    assert str(error) == ".conveyor.yml:3: `checks.tests.run` is missing"
    assert (error.path, error.line, error.message) == (
        ".conveyor.yml",
        3,
        "`checks.tests.run` is missing",
    )
    # Without a line (the whole file, or a line 0 that no file has): the file alone.
    assert str(ConfigError("pyproject.toml", None, "not valid TOML")) == (
        "pyproject.toml: not valid TOML"
    )
    assert str(ConfigError("pyproject.toml", 0, "x")) == "pyproject.toml: x"


def test_a_configured_plan_makes_its_own_check_runs_only() -> None:
    plan = Plan(checks=(FULL, CheckSpec("lint", "", (), ("ruff check",))), origin=".conveyor.yml")
    assert check_names(plan, ("tests",)) == ("tests (3.12)", "lint")


def test_a_detected_plan_reports_under_the_default_names_too() -> None:
    # Nothing to test, pre-commit found: `tests` still reports (a required check must).
    pre_commit = CheckSpec("pre-commit", "", (), ("pre-commit run -a",))
    plan = Plan(checks=(pre_commit,), origin="detected")
    assert check_names(plan, ("tests",)) == ("tests", "pre-commit")
    # A default name the plan has already is not made twice.
    tests = CheckSpec("tests", "", (), ("pytest",))
    assert check_names(Plan((tests, pre_commit), "detected"), ("tests",)) == ("tests", "pre-commit")


def test_an_empty_plan_makes_the_default_check_runs() -> None:
    assert check_names(Plan((), "detected"), ("tests",)) == ("tests",)
    assert check_names(Plan((), "pyproject.toml [tool.conveyor]"), ("tests", "lint")) == (
        "tests",
        "lint",
    )
