"""Linters', type checkers' and unittest's printed output → annotations. Pure: no I/O.

Conveyor keeps, of each command a check ran, its text as the repository's config wrote it and
what it printed (stdout and stderr together). `parse_tool_output` tells the tool from the
command and reads its output. Each tool is a module with its rules (levels, titles, columns) and
one `Tool` (its programs and its reader), listed in TOOLS: a new tool is a module and a line.
Paths in the output may be relative to the repository (the command's cwd), `./x.py`, or absolute
under the sandbox's `/conveyor/src/` (the `root` argument); anything else is outside the
repository and not annotated (the summary says how many).
"""

from __future__ import annotations

import os.path
import re
import shlex

from app.report.tools import flake8, mypy, precommit, ruff, unittest
from app.report.tools.common import SANDBOX_ROOT, Tool, ToolReport

__all__ = ["SANDBOX_ROOT", "TOOLS", "ToolReport", "detect_tool", "parse_tool_output"]

TOOLS: tuple[Tool, ...] = (ruff.TOOL, flake8.TOOL, mypy.TOOL, precommit.TOOL, unittest.TOOL)
_BY_NAME = {tool.name: tool for tool in TOOLS}
_BY_PROGRAM = {program: tool for tool in TOOLS for program in tool.programs}

# Words that run the next word: "uv run ruff", "poetry run mypy", "env X=1 flake8", "time ruff"
_RUNNERS = {
    "uv": ("run",),
    "poetry": ("run",),
    "pdm": ("run",),
    "hatch": ("run",),
    "rye": ("run",),
    "pipenv": ("run",),
    "pipx": ("run",),
    "uvx": (),
    "env": (),
    "exec": (),
    "time": (),
    "nice": (),
}
_PYTHON = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?$|^py$")  # python, python3.11, pypy3, py
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")  # "FORCE_COLOR=0"
_OPERATORS = {"&&", "||", ";", "|", "&", ";;"}


def detect_tool(command: str) -> str | None:
    """The tool the command runs: "ruff", "flake8", "mypy", "pre-commit", "unittest" or None.

    A command of several (`pip install . && mypy pkg`, `ruff check . | tee log`) counts when one
    tool runs in it (or the same one several times) and none changes directory (the paths would
    then be relative to another folder).
    """
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        words = command.split()
    segments: list[list[str]] = [[]]
    for word in words:
        if word in _OPERATORS:
            segments.append([])
        else:
            segments[-1].append(word)
    tools = {tool for segment in segments if segment and (tool := _segment_tool(segment))}
    if len(tools) != 1 or any(s[:1] in (["cd"], ["pushd"]) for s in segments):
        return None
    return tools.pop()


def _segment_tool(words: list[str]) -> str | None:
    words = _unwrapped(words)
    if not words:
        return None
    program = os.path.basename(words[0])
    if program in ("sh", "bash") and words[1:2] == ["-c"] and len(words) > 2:
        return detect_tool(words[2])  # bash -c "ruff check ."
    if _PYTHON.match(program):
        module = _python_module(words[1:])
        if module is None:
            return _script_tool(words[1:])
        program, words = module[0], module
    if program == "coverage" and "-m" in words[:-1]:  # coverage run [options] -m unittest
        words = words[words.index("-m") + 1 :]
        program = words[0]
    tool = _BY_PROGRAM.get(program)
    if tool is None or not tool.checks([program, *words[1:]]):
        return None
    return tool.name


def _unwrapped(words: list[str]) -> list[str]:
    """Without leading variable assignments and runners ("uv run", "env", "time")."""
    while words:
        if _ASSIGNMENT.match(words[0]):
            words = words[1:]
            continue
        runner = _RUNNERS.get(os.path.basename(words[0]))
        if runner is None:
            return words
        rest = words[1:]
        if runner and rest[:1] == [runner[0]]:
            rest = rest[1:]
        while rest and rest[0].startswith("-"):
            rest = rest[1:]  # "uv run --frozen ruff", "env -i ruff"
        words = rest
    return words


def _script_tool(arguments: list[str]) -> str | None:
    """`python "$CONVEYOR_HELPERS/conveyor_pre_commit.py" run …`: Conveyor's own wrapper."""
    scripts = [word for word in arguments if not word.startswith("-")]
    if not scripts or os.path.basename(scripts[0]) not in _BY_PROGRAM:
        return None
    return _segment_tool([os.path.basename(scripts[0]), *scripts[1:]])


def _python_module(arguments: list[str]) -> list[str] | None:
    """The module and its arguments in `python [-X opt] -m module …`, None for a script."""
    k = 0
    while k < len(arguments):
        word = arguments[k]
        if word == "-m":
            return arguments[k + 1 :] or None
        if word.startswith("-m"):
            return [word[2:], *arguments[k + 1 :]]
        if not word.startswith("-"):
            return None  # python script.py
        k += 2 if word in ("-W", "-X") else 1
    return None


def parse_tool_output(command: str, output: str, *, root: str = SANDBOX_ROOT) -> ToolReport | None:
    """The annotations (and for unittest the test results) in what `command` printed, or None
    when the command runs none of the tools read here (pytest is read from its JUnit XML)."""
    name = detect_tool(command)
    return None if name is None else _BY_NAME[name].read(output, command, root)
