"""app/suite/command_env.py: the variables a check's commands get (nothing of the service's
own), and the settings that make any pytest they start report to Conveyor."""

from __future__ import annotations

import pytest

from app.suite.command_env import IN_SANDBOX, Paths, command_variables, pytest_settings
from app.suite.plan import TOOL_ENVIRONMENTS


def test_the_commands_get_their_paths_and_nothing_of_the_service_s_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "not for the commands")
    variables = command_variables(IN_SANDBOX, {}, isolated=True, check_env=(), secrets={})
    assert "GITHUB_WEBHOOK_SECRET" not in variables
    assert variables["PATH"] == "/conveyor/env/venv/bin:/usr/local/bin:/usr/bin:/bin"
    assert variables["VIRTUAL_ENV"] == "/conveyor/env/venv"
    assert variables["HOME"] == "/conveyor/home"
    assert variables["PIP_CACHE_DIR"] == "/conveyor/cache/pip"
    assert variables["CONVEYOR_INCOMPLETE"] == "/conveyor/env/incomplete"
    assert variables["CONVEYOR_TOOL_ENVIRONMENTS"] == f"/conveyor/env/{TOOL_ENVIRONMENTS}"
    assert variables["CONVEYOR_HELPERS"] == "/conveyor/helpers"


def test_without_a_sandbox_home_is_the_checkout() -> None:
    paths = Paths("/work/src", "/work/env", "/work/out", "/work/cache", "/app/in_sandbox")
    variables = command_variables(paths, {}, isolated=False, check_env=(), secrets={})
    assert variables["HOME"] == "/work/src"
    assert variables["VIRTUAL_ENV"] == "/work/env/venv"


def test_the_check_s_variables_and_secrets_override_and_extra_settings_are_added() -> None:
    variables = command_variables(
        IN_SANDBOX,
        {"PYTHONPATH": "/conveyor/helpers", "PYTEST_ADDOPTS": "-p conveyor_pytest", "NEW": "1"},
        isolated=True,
        check_env=(("LANG", "en_US.UTF-8"), ("PYTHONPATH", "src"), ("PYTEST_ADDOPTS", "-x")),
        secrets={"TOKEN": "s3cret", "CI": "false"},
    )
    assert variables["LANG"] == "en_US.UTF-8"
    assert (variables["TOKEN"], variables["CI"]) == ("s3cret", "false")
    assert variables["PYTHONPATH"] == "src:/conveyor/helpers"
    assert variables["PYTEST_ADDOPTS"] == "-x -p conveyor_pytest"
    assert variables["NEW"] == "1"


def test_pytest_reports_junit_always_and_the_plugin_s_report_when_it_can_load() -> None:
    without = pytest_settings(IN_SANDBOX, 2, plugin=False, only_tests=("t.py::a",))
    assert without == {
        "PYTEST_ADDOPTS": "--junitxml=/conveyor/out/junit-2.xml -o junit_family=xunit1",
        "TOX_OVERRIDE": "testenv.pass_env+=PYTEST_ADDOPTS",
    }
    full = pytest_settings(IN_SANDBOX, 0, plugin=True, only_tests=())
    assert full["PYTEST_ADDOPTS"] == (
        "--junitxml=/conveyor/out/junit-0.xml -o junit_family=xunit1 -p conveyor_pytest"
    )
    assert full["PYTHONPATH"] == "/conveyor/helpers"
    assert full["CONVEYOR_REPORT"] == "/conveyor/out/pytest-0.jsonl"
    assert full["CONVEYOR_ROOT"] == "/conveyor/src"
    assert "CONVEYOR_ONLY" not in full
    # tox passes on only what it is told to: every one of these.
    assert full["TOX_OVERRIDE"] == (
        "testenv.pass_env+=CONVEYOR_REPORT,CONVEYOR_ROOT,PYTEST_ADDOPTS,PYTHONPATH"
    )


def test_a_re_run_selects_the_tests_from_the_read_only_inputs() -> None:
    settings = pytest_settings(IN_SANDBOX, 0, plugin=True, only_tests=("t.py::a",))
    assert settings["CONVEYOR_ONLY"] == "/conveyor/in/only.txt"
    assert "CONVEYOR_ONLY" in settings["TOX_OVERRIDE"]
