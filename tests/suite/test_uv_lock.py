"""app/suite/uv_lock.py: a locked project installed from its lock, into the check's virtualenv."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

from app.suite.uv_lock import INSTALL_UV, uv_sync, uv_sync_as_written


def _run_as_shell(command: str) -> tuple[dict[str, str], list[str]]:
    """What `sh` would run for `command`: the variables and the arguments uv would get (uv
    swapped for a Python that prints them)."""
    show = shlex.join([sys.executable, "-c", _SHOW])
    assert command.count(" uv sync") == 1
    shown = subprocess.run(
        ["sh", "-c", command.replace(" uv sync", f" {show} sync")],
        env={"PATH": os.environ["PATH"], "VIRTUAL_ENV": "/venv"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    variables, arguments = json.loads(shown)
    return variables, ["uv", *arguments]


_SHOW = "import json, os, sys; print(json.dumps([dict(os.environ), sys.argv[1:]]))"


def test_the_lock_is_installed_as_written_into_the_check_s_environment() -> None:
    install, sync = uv_sync(["--group", "tests", "--extra", "yaml"])
    assert install == INSTALL_UV
    variables, arguments = _run_as_shell(sync)
    assert arguments == [
        "uv",
        "sync",
        "--frozen",
        "--inexact",
        "--no-default-groups",
        "--group",
        "tests",
        "--extra",
        "yaml",
    ]
    # Into the check's virtualenv, with its Python, never a downloaded one.
    assert variables["UV_PROJECT_ENVIRONMENT"] == "/venv"
    assert variables["UV_PYTHON"] == "/venv/bin/python"
    assert variables["UV_PYTHON_DOWNLOADS"] == "never"
    assert variables["UV_SYSTEM_CERTS"] == "1"


def test_a_project_s_own_arguments_are_quoted_not_run() -> None:
    hostile = ["--group", "a b; touch /tmp/owned", "--extra", "$(id)"]
    _, sync = uv_sync_as_written(hostile)
    _, arguments = _run_as_shell(sync)
    assert arguments == ["uv", "sync", *hostile]
    assert shlex.split(sync)[-5:] == ["sync", *hostile]
