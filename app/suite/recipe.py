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
            "itself runs: it builds its environment during the test step, which therefore has "
            "the network; what it downloads is kept for the next run, its environment is not.",
        ),
        files=(source,),
        network=True,
    )


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
