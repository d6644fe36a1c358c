"""What each rule produces, and the parts of it the rules share.

Every rule (tox, nox, hatch, pip) ends in a Recipe; a tool whose configuration cannot be
translated is run as itself, the same way whichever tool it is.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.suite.dependencies import read_requirements

PIP_INSTALL = "python -m pip install"


@dataclass(frozen=True)
class Recipe:
    """Install and test commands for the `tests` check, and how they were found."""

    install: tuple[str, ...]
    test: tuple[str, ...]
    detected: tuple[str, ...]  # phrases joined into "Detected: a; b; c."
    details: tuple[str, ...] = ()  # more summary lines
    files: tuple[str, ...] = ()  # dependency files beyond the conventional ones
    env: tuple[tuple[str, str], ...] = ()
    network: bool = False
    # tox, nox or hatch runs itself, keeping its environments in plan.TOOL_ENVIRONMENTS.
    tool_runs_itself: bool = False


_TOOL_FOLDER = '"$CONVEYOR_TOOL_ENVIRONMENTS"'


def pip_install(args: Sequence[str]) -> str:
    return f"{PIP_INSTALL} {shlex.join(args)}"


class Untranslatable(Exception):
    """A tool's configuration uses something Conveyor does not translate: run the tool itself."""


# A `{...}` substitution, as tox writes them and hatch its context fields.
SUBSTITUTION = re.compile(r"\{([^{}]*)\}")


def run_tool_itself(
    tool: str,
    source: str,
    target: str,
    reason: str,
    commands: tuple[tuple[str, ...], tuple[str, ...]],
) -> Recipe:
    install, test = commands
    return Recipe(
        install=install,
        test=test,
        detected=(f"{tool} `{target}` in {source}",),
        details=(
            f"Its configuration could not be turned into plain commands ({reason}), so {tool} "
            "itself runs. It builds its environments in the install step, kept like any "
            "environment; the test step runs it on a copy of them, with the network, as it "
            "installs the project again.",
        ),
        files=(source,),
        network=True,
        tool_runs_itself=True,
    )


def tox_itself(env: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """tox's commands: its environments built (`--notest`), then run, in the kept folder."""
    run = f"tox run -e {shlex.quote(env)} --workdir {_TOOL_FOLDER}"
    return (f"{PIP_INSTALL} tox", f"{run} --notest"), (run,)


def hatch_itself(env: str, target: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """hatch's commands: the env created, then the script run (hatch installs what changed)."""
    data = f"HATCH_DATA_DIR={_TOOL_FOLDER}"
    return (
        (f"{PIP_INSTALL} hatch", f"{data} hatch env create {shlex.quote(env)}"),
        (f"{data} hatch run {shlex.quote(target)}",),
    )


def nox_itself(session: str, options: str = "") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """nox's commands: the session's installs (`--install-only`), then the session reusing its
    environment (`-r`: the installs run again, the project's at this commit among them)."""
    run = f"nox -s {shlex.quote(session)}{options} --envdir {_TOOL_FOLDER}"
    return (f"{PIP_INSTALL} nox", f"{run} --install-only"), (f"{run} -r",)


def requirement_files_in(root: Path, args: Sequence[str]) -> list[str]:
    files: list[str] = []
    for index, arg in enumerate(args):
        target = None
        if arg in ("-r", "-c", "--requirement", "--constraint") and index + 1 < len(args):
            target = args[index + 1]
        elif re.match(r"^-[rc]\S", arg):
            target = arg[2:]
        if target:
            files += read_requirements(root, target).files
    return files
