"""Commands that install packages, found among a tool's test commands and moved to the install step.

tox and nox let a project install from its commands (`pip install -e .[test]`, `poetry install`).
In a check those must run with the install step: it has the network and writes the environment,
which the test step has neither of. A tool that would build an environment of its own
(`uv sync`, `pdm install`) cannot be moved: the caller then runs tox or nox itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from app.suite.recipe import PIP_INSTALL, Untranslatable
from app.suite.tox_substitutions import shell_join

_PIP = re.compile(r"^(?:.*/)?pip(?:3(?:\.\d+)?)?$")
_PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")
# pip's subcommands that change the environment.
_PIP_CHANGES = ("install", "uninstall")
# Tools that build or sync an environment of their own, which is not the check's.
_OWN_ENVIRONMENT = {
    ("uv", "sync"),
    ("pdm", "install"),
    ("pdm", "sync"),
    ("pipenv", "install"),
    ("pipenv", "sync"),
    ("pip-sync",),
    ("hatch", "env"),
}
# Running through the tool that made the environment: the check's environment is already active.
_RUNNERS = (("poetry", "run"), ("pdm", "run"), ("uv", "run", "--no-sync"), ("uv", "run"))
# Poetry lives in a venv of its own so that its ~40 dependencies do not mix with the project's,
# and installs into the check's venv through VIRTUAL_ENV.
_POETRY = '"${TMPDIR:-/tmp}/conveyor-poetry"'


def install_step(args: Sequence[str]) -> tuple[str, ...] | None:
    """The install-step commands for `args` when they install packages, else None."""
    if not args:
        return None
    first = args[0]
    if _PIP.match(first) and len(args) > 1 and args[1] in _PIP_CHANGES:
        return (_pip(args[1:]),)
    if (
        _PYTHON.match(first)
        and args[1:3] == ["-m", "pip"]
        and args[3:4] in (["install"], ["uninstall"])
    ):
        return (_pip(args[3:]),)
    if tuple(args[:3]) == ("uv", "pip", "install"):
        return (_pip(args[2:]),)
    if tuple(args[:2]) == ("poetry", "install"):
        return poetry_install(args[2:])
    if (
        _PYTHON.match(first)
        and args[1:2] == ["setup.py"]
        and args[2:3] in (["develop"], ["install"])
    ):
        return (shell_join(args),)
    if tuple(args[:2]) in _OWN_ENVIRONMENT or tuple(args[:1]) in _OWN_ENVIRONMENT:
        raise Untranslatable(f"`{shlex.join(args[:2])}`, which builds an environment of its own")
    return None


def without_runner(args: Sequence[str]) -> list[str]:
    """`poetry run pytest` → `pytest`: the command as it runs in the check's environment."""
    for runner in _RUNNERS:
        if tuple(args[: len(runner)]) == runner and len(args) > len(runner):
            rest = list(args[len(runner) :])
            if not rest[0].startswith("-"):  # a flag of the runner's own: leave it to it
                return rest
    return list(args)


def poetry_install(args: Sequence[str]) -> tuple[str, ...]:
    """`poetry install ARGS` into the check's environment: Poetry alone reads its constraint
    syntax and its lock file, so it installs; it is not a dependency of the project's."""
    return (
        f"python -m venv {_POETRY} && {_POETRY}/bin/python -m pip install --quiet poetry",
        "VIRTUAL_ENV=\"$(python -c 'import sys; print(sys.prefix)')\" "
        f"POETRY_VIRTUALENVS_CREATE=false {_POETRY}/bin/poetry install --no-interaction"
        + "".join(f" {arg}" for arg in _quoted(args)),
    )


def _pip(args: Sequence[str]) -> str:
    return f"{PIP_INSTALL.removesuffix(' install')} {shell_join(args)}"


def _quoted(args: Sequence[str]) -> list[str]:
    return [shell_join([arg]) for arg in args if arg != "--no-interaction"]
