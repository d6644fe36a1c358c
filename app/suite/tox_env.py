"""One tox environment's settings, as tox.ini and TOML configurations both come to: ToxEnv.

What the two readers (tox_ini.py, tox_toml.py) share is here too: an env's commands, those that
install packages set apart (`Commands`), changedir kept inside the repository, deps as pip's
arguments.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from app.suite.install_commands import install_step, without_runner
from app.suite.recipe import Untranslatable
from app.suite.repository_files import excerpt
from app.suite.tox_substitutions import shell_join


@dataclass(frozen=True)
class ToxEnv:
    """One tox environment's settings, factor conditions already applied."""

    name: str
    deps: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()  # shell-ready: commands_pre, commands, commands_post
    post_commands: tuple[str, ...] = ()  # the last of `commands`, from commands_post
    install_commands: tuple[str, ...] = ()  # those of its commands that install packages
    setenv: tuple[tuple[str, str], ...] = ()
    skip_install: bool = False
    editable: bool = False
    changedir: str = ""  # relative to the root, normalized; "" for the root
    folders: tuple[str, ...] = ()  # tox's folders the values point into, relative to the root
    source: str = "tox.ini"
    problems: tuple[str, ...] = field(default=())  # why it cannot be translated
    # tox-uv's `uv-venv-lock-runner`: the env is installed from uv.lock (`uv sync`).
    locked: bool = False


# tox-uv's runner that installs an env from uv.lock (`uv sync`).
UV_LOCK_RUNNER = "uv-venv-lock-runner"


def relative_changedir(values: list[str], problems: list[str]) -> str:
    """The folder the commands run in, relative to the root ("" for the root itself)."""
    if not values:
        return ""
    folder = posixpath.normpath(values[0])
    if folder.startswith(("/", "..")):
        problems.append(f"`changedir = {excerpt(values[0])}`, outside the repository")
        return ""
    return "" if folder == "." else folder


# In tox's order. tox runs commands_post even after a failure; here each test command runs only
# after the one before passed, so after a failure they do not run: the conclusion is the same
# (tox's exit code is the first failure's), only their output (a coverage report) is missing.
COMMAND_KEYS = ("commands_pre", "commands", "commands_post")


class Commands:
    """An env's commands, those that install packages set apart for the install step."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.key = "commands"  # the setting being read
        self.test: list[str] = []
        self.post: list[str] = []  # those of `test` from commands_post
        self.install: list[str] = []

    def add(self, line: str) -> None:
        ignore_errors = line.startswith("-")
        if line.startswith("!"):
            self.problems.append("an inverted command (`!`)")
        text = line.lstrip("-!").strip()
        try:
            args = shlex.split(text)
        except ValueError:
            self.problems.append(f"unbalanced quotes in `{excerpt(text, 60)}`")
            return
        self.add_args(args, ignore_errors)

    def add_args(self, args: list[str], ignore_errors: bool = False) -> None:
        suffix = " || true" if ignore_errors else ""
        try:
            install = install_step(args)
        except Untranslatable as exc:
            self.problems.append(str(exc))
            return
        if install is not None:
            self.install += [f"{c}{suffix}" for c in install]
        elif args:
            command = shell_join(without_runner(args)) + suffix
            self.test.append(command)
            if self.key == "commands_post":
                self.post.append(command)


def dep_args(line: str) -> list[str]:
    # `-rrequirements.txt` and `-r requirements.txt` are both pip's; keep pip's own spelling.
    return shlex.split(line) if line.startswith("-") else [line]
