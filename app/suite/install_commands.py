"""Commands that install packages, found among a tool's test commands and moved to the install step.

tox and nox let a project install from its commands (`pip install -e .[test]`, `poetry install`).
In a check those must run with the install step: it has the network and writes the environment,
which the test step has neither of. Tools that sync an environment from a lock file install into
the check's instead: `uv sync` through UV_PROJECT_ENVIRONMENT, `pdm install`/`pdm sync` through
the active VIRTUAL_ENV (PDM honours it), each tool in a venv of its own. A tool that would build
an environment of its own otherwise (`pipenv`, `hatch env`) cannot be moved: the caller then runs
tox or nox itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from app.suite.recipe import PIP_INSTALL, Untranslatable
from app.suite.tox_substitutions import shell_join
from app.suite.uv_lock import uv_sync_as_written

_PIP = re.compile(r"^(?:.*/)?pip(?:3(?:\.\d+)?)?$")
_PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")
# pip's subcommands that change the environment.
_PIP_CHANGES = ("install", "uninstall")
# Tools that build or sync an environment of their own, which is not the check's.
_OWN_ENVIRONMENT = {
    ("pipenv", "install"),
    ("pipenv", "sync"),
    ("pip-sync",),
    ("hatch", "env"),
}
# Running through the tool that made the environment: the check's environment is already active.
_RUNNERS = (("poetry", "run"), ("pdm", "run"), ("uv", "run", "--no-sync"), ("uv", "run"))
# Poetry and PDM live in a venv of their own, so that their dozens of dependencies do not mix
# with the project's, and install into the check's venv through VIRTUAL_ENV. That venv is kept
# beside the repository's downloads (the install step's cache; a fork's run has a throwaway one),
# one per interpreter (its python is a link to it), made under a lock so that two runs never
# build it at once: a later first run of new dependencies does not install the tool again.
# When the check's venv has the tool already (tox's `deps = poetry`, as tox itself runs it), that
# one serves: installing it a second time cost rich's first run 10 s.
_TOOL = '"$CONVEYOR_TOOL"'
_TOOL_VENV = (
    "CONVEYOR_TOOL=\"$(python -c 'import sys; print(sys.prefix)')\" && "
    '{ [ -x "$CONVEYOR_TOOL/bin/@NAME@" ] || { '
    'CONVEYOR_TOOL="${PIP_CACHE_DIR:-${TMPDIR:-/tmp}/conveyor/pip}" && '
    'CONVEYOR_TOOL="${CONVEYOR_TOOL%/*}/tools/@NAME@-'
    "$(python -c 'import hashlib, sys; print(hashlib.sha256(sys.base_prefix.encode()).hexdigest()"
    '[:12])\')" && mkdir -p "${CONVEYOR_TOOL%/*}" && '
    'flock "$CONVEYOR_TOOL.lock" sh -c '
    '\'[ -x "$0/bin/@NAME@" ] || { python -m venv "$0" && '
    '"$0/bin/python" -m pip install --quiet "$1"; }\' "$CONVEYOR_TOOL" @REQUIREMENT@; }; }'
)
# The check's virtualenv, for a tool that installs into the active one.
_THIS_VENV = "VIRTUAL_ENV=\"$(python -c 'import sys; print(sys.prefix)')\""
# The machine's certificate store for Poetry, whose requests trusts only certifi's list unless
# told: pip and uv trust the machine's, where an operator's company CA or TLS-inspecting proxy
# is added. An operator's REQUESTS_CA_BUNDLE (the install step has it) comes first.
_SYSTEM_CA = (
    'REQUESTS_CA_BUNDLE="${REQUESTS_CA_BUNDLE:-$(python -c '
    '\'import ssl; print(ssl.get_default_verify_paths().cafile or "")\')}"'
)


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
    if tuple(args[:2]) == ("uv", "sync"):
        # --inexact: what the install step put there before stays (pip, the test tools).
        return uv_sync_as_written([*args[2:], *([] if "--exact" in args else ["--inexact"])])
    if tuple(args[:2]) in (("pdm", "install"), ("pdm", "sync")):
        return pdm_install(args[1:])
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
        _with_tool(
            "poetry",
            "poetry",
            f"{_THIS_VENV} {_SYSTEM_CA} POETRY_VIRTUALENVS_CREATE=false {_TOOL}/bin/poetry"
            " install"
            " --no-interaction" + "".join(f" {arg}" for arg in _quoted(args)),
        ),
    )


def pdm_install(args: Sequence[str]) -> tuple[str, ...]:
    """`pdm install ARGS` (or `sync`) into the check's environment, from pdm.lock."""
    return (
        _with_tool(
            "pdm",
            # PDM's own pins of its dependencies: unpinned, a new major version of one (hishel
            # 2) broke every PDM command.
            "'pdm[locked]'",
            f"{_THIS_VENV} PDM_IGNORE_SAVED_PYTHON=1 PDM_CHECK_UPDATE=false {_TOOL}/bin/pdm"
            + "".join(f" {arg}" for arg in _quoted(args)),
        ),
    )


def _with_tool(name: str, requirement: str, command: str) -> str:
    """One command: the tool's kept venv (made if missing), then `command` using it."""
    made = _TOOL_VENV.replace("@NAME@", name).replace("@REQUIREMENT@", requirement)
    return f"{made} && {command}"


def _pip(args: Sequence[str]) -> str:
    return f"{PIP_INSTALL.removesuffix(' install')} {shell_join(args)}"


def _quoted(args: Sequence[str]) -> list[str]:
    return [shell_join([arg]) for arg in args if arg != "--no-interaction"]
