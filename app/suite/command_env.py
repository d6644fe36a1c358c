"""What a check's commands see: the paths (inside the sandbox the same in every run, which is what
lets a virtualenv built by one run serve the next), their variables, and the settings that make
any pytest they start report to Conveyor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.suite.plan import TOOL_ENVIRONMENTS


@dataclass(frozen=True)
class Paths:
    """Where the project, its environment and the reports are, as the commands see them."""

    src: str
    env: str
    out: str
    cache: str
    helpers: str = "/conveyor/helpers"  # app/suite/in_sandbox: read-only
    inputs: str = "/conveyor/in"  # what the service gives the commands: read-only

    @property
    def venv(self) -> str:
        return f"{self.env}/venv"


IN_SANDBOX = Paths("/conveyor/src", "/conveyor/env", "/conveyor/out", "/conveyor/cache")
# What runs inside the sandbox in the project's environment (not a package of `app`): the pytest
# plugin that reports places from pytest's own tracebacks, the pre-commit wrapper.
HELPERS_FOLDER = Path(__file__).resolve().parent / "in_sandbox"
# What an install leaves at the top of the environment when it could do only part of its work
# (pre-commit hooks whose repositories could not be fetched): the environment serves this run
# and is not kept, so the next run tries again.
INCOMPLETE = "incomplete"


def command_variables(
    paths: Paths,
    extra: Mapping[str, str],
    *,
    isolated: bool,
    check_env: Sequence[tuple[str, str]],
    secrets: Mapping[str, str],
) -> dict[str, str]:
    """Everything the commands see: nothing of the service's own environment. `isolated`: in
    the sandbox (not mode `none`); `check_env`: the check's own variables; `extra`: added to
    what is there (PYTHONPATH joined with `:`, the others with a space)."""
    variables = {
        "PATH": f"{paths.venv}/bin:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": paths.venv,
        "HOME": "/conveyor/home" if isolated else paths.src,
        "LANG": "C.UTF-8",
        "CI": "true",
        "CONVEYOR": "true",
        "PYTHONUNBUFFERED": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_CACHE_DIR": f"{paths.cache}/pip",
        "PIP_PROGRESS_BAR": "off",
        "PRE_COMMIT_HOME": f"{paths.env}/pre-commit",
        "CONVEYOR_HELPERS": paths.helpers,
        "CONVEYOR_INCOMPLETE": f"{paths.env}/{INCOMPLETE}",
        "CONVEYOR_TOOL_ENVIRONMENTS": f"{paths.env}/{TOOL_ENVIRONMENTS}",
    }
    variables.update(dict(check_env))
    variables.update(secrets)
    for name, value in extra.items():
        previous = variables.get(name)
        joiner = ":" if name == "PYTHONPATH" else " "
        variables[name] = f"{previous}{joiner}{value}" if previous else value
    return variables


def pytest_settings(
    paths: Paths, index: int, *, plugin: bool, only_tests: Sequence[str]
) -> dict[str, str]:
    """What makes any pytest the commands start report to us: JUnit XML always, and the
    plugin's report (places from pytest's own traceback, coverage, re-run selection)."""
    out = paths.out
    options = f"--junitxml={out}/junit-{index}.xml -o junit_family=xunit1"
    settings = {"PYTEST_ADDOPTS": options}
    if plugin:
        settings.update(
            PYTEST_ADDOPTS=f"{options} -p conveyor_pytest",
            PYTHONPATH=paths.helpers,
            CONVEYOR_REPORT=f"{out}/pytest-{index}.jsonl",
            CONVEYOR_ROOT=paths.src,
        )
        if only_tests:
            settings["CONVEYOR_ONLY"] = f"{paths.inputs}/only.txt"
    # tox 4 passes its environments only the variables they name: these reach a pytest that
    # tox itself runs (tox 4.11 and later read this; earlier ones say so and go on).
    settings["TOX_OVERRIDE"] = "testenv.pass_env+=" + ",".join(sorted(settings))
    return settings
