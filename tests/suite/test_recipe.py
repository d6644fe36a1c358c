"""app/suite/recipe.py: what the rules share: pip's command, a tool run as itself, the `{...}`
pattern, and the requirements files named on a pip command line."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from app.suite.recipe import (
    PIP_INSTALL,
    SUBSTITUTION,
    Recipe,
    hatch_itself,
    nox_itself,
    pip_install,
    requirement_files_in,
    run_tool_itself,
    tox_itself,
)
from tests.suite.projects import write

HOSTILE = "py; touch /tmp/owned $(id)"


def test_pip_install_quotes_each_argument() -> None:
    assert pip_install(["-e", ".[test,yaml]"]) == "python -m pip install -e '.[test,yaml]'"
    command = pip_install([HOSTILE])
    assert command.startswith(PIP_INSTALL + " ")
    assert shlex.split(command) == ["python", "-m", "pip", "install", HOSTILE]


def test_substitution_finds_the_innermost_braces() -> None:
    assert SUBSTITUTION.findall("{posargs} {env:A:{env:B}} {}") == ["posargs", "env:B", ""]
    assert SUBSTITUTION.sub("x", "{env:A:{env:B}}") == "{env:A:x}"


def test_tox_runs_itself_in_the_kept_folder_with_the_env_quoted() -> None:
    install, test = tox_itself(HOSTILE)
    assert install[0] == "python -m pip install tox"
    assert shlex.split(install[1]) == [
        "tox",
        "run",
        "-e",
        HOSTILE,
        "--workdir",
        "$CONVEYOR_TOOL_ENVIRONMENTS",  # (double quotes: the shell expands it)
        "--notest",
    ]
    assert test == (install[1].removesuffix(" --notest"),)


def test_hatch_runs_itself_with_its_data_in_the_kept_folder() -> None:
    install, test = hatch_itself(HOSTILE, "test:" + HOSTILE)
    assert install[0] == "python -m pip install hatch"
    assert shlex.split(install[1]) == [
        "HATCH_DATA_DIR=$CONVEYOR_TOOL_ENVIRONMENTS",
        "hatch",
        "env",
        "create",
        HOSTILE,
    ]
    [run] = test
    assert shlex.split(run)[1:] == ["hatch", "run", "test:" + HOSTILE]


def test_nox_installs_only_then_reuses_its_environment() -> None:
    install, test = nox_itself(HOSTILE, " -p 3.12")
    assert install[0] == "python -m pip install nox"
    assert shlex.split(install[1]) == [
        "nox",
        "-s",
        HOSTILE,
        "-p",
        "3.12",
        "--envdir",
        "$CONVEYOR_TOOL_ENVIRONMENTS",
        "--install-only",
    ]
    assert test == (install[1].replace("--install-only", "-r"),)


def test_a_tool_run_as_itself_says_why_and_has_the_network() -> None:
    recipe = run_tool_itself("tox", "tox.ini", "py312", "`{glob:*.txt}`", tox_itself("py312"))
    assert recipe == Recipe(
        install=tox_itself("py312")[0],
        test=tox_itself("py312")[1],
        detected=("tox `py312` in tox.ini",),
        details=recipe.details,
        files=("tox.ini",),
        network=True,
        tool_runs_itself=True,
    )
    [detail] = recipe.details
    assert detail.startswith(
        "Its configuration could not be turned into plain commands (`{glob:*.txt}`), so tox "
        "itself runs."
    )


def test_requirement_files_named_on_a_pip_command_line_are_followed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements/test.txt": "-r base.txt\npytest\n",
            "requirements/base.txt": "requests\n",
            "constraints.txt": "urllib3<3\n",
            "dev.txt": "black\n",
        },
    )
    args = ["-r", "requirements/test.txt", "-cconstraints.txt", "--requirement", "dev.txt", "."]
    assert requirement_files_in(tmp_path, args) == [
        "requirements/test.txt",
        "requirements/base.txt",
        "constraints.txt",
        "dev.txt",
    ]


def test_requirement_files_missing_dangling_or_outside_are_not_named(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    root = tmp_path / "repo"
    write(root, {"ok.txt": "pytest\n"})
    os.symlink(outside, root / "linked.txt")
    args = ["-r", "gone.txt", "-r", "linked.txt", "-r", "../outside.txt", "-r", "ok.txt", "-r"]
    assert requirement_files_in(root, args) == ["ok.txt"]
