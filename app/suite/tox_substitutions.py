"""tox's `{...}` substitutions, each translated to something that exists when the commands run.

tox fills them from its own state (its work folder, the environment's folders, the variables of
the process that runs it). Here:

- the root and tox's folders (`{toxinidir}`, `{envtmpdir}`, `{envlogdir}`, `{toxworkdir}`,
  `{temp_dir}`...) become paths inside the checkout, written from the folder the command runs in
  (`changedir`); the folders are collected so that the test step creates them first (tox creates
  them too, and nobody else would: a `--basetemp={envtmpdir}` pointing nowhere fails every test);
- the environment's own folders (`{envdir}`, `{envbindir}`, `{envsitepackagesdir}`) and the
  variables read at run time (`{env:X:default}`) become shell expansions, in commands only;
- `{posargs:default}` is its default, `{tty:on:off}` its `off` (no terminal here), `{/}` and `{:}`
  the POSIX separators;
- anything else is Untranslatable, with its name: tox itself then runs.

Shell expansions cannot go through `shlex.join` (it would quote the `$`), so they are carried as
markers through the splitting of a command and put back by `shell_join`.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.suite.egress import PROXY_VARIABLES
from app.suite.recipe import SUBSTITUTION, Untranslatable
from app.suite.repository_files import excerpt

# A run-time value inside a command, until the command is joined: \x00<shell text in hex>\x01. In
# hex, its quotes, spaces and braces are not read by the splitting of the command nor by the next
# round of substitution. Neither byte is in a configuration file Conveyor reads, so a marker is
# never the project's own text.
_MARK, _END = "\x00", "\x01"
_MARKER = re.compile(f"{_MARK}([0-9a-f]*){_END}")
_SITE_PACKAGES = "$(python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')"
_PY_DOT_VER = "$(python -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])')"
_WORK = ".tox"
# A default that must stay text: in double quotes, `\`, `$`, `` ` ``, `"` and `}` are escaped.
_ESCAPED_IN_EXPANSION = re.compile(r'([\\$`"}])')


@dataclass(frozen=True)
class Where:
    """What the substitutions of one tox environment resolve against."""

    env: str
    # The checkout's root as seen from the folder the commands run in ("." or "..", say).
    root: str = "."
    # The environment's `setenv`, read before the value being substituted: `{env:X}` looks here
    # first, as tox does.
    setenv: Mapping[str, str] = field(default_factory=dict)
    # Commands and deps become shell commands: run-time values are allowed there. `setenv` values
    # are handed to the commands as they are, so they must be known now.
    shell: bool = True


@dataclass(frozen=True)
class Substituted:
    text: str
    folders: frozenset[str]  # relative to the checkout's root; must exist before the commands


def substitute(text: str, where: Where) -> Substituted:
    """`text` with every tox substitution replaced; Untranslatable names the first that cannot
    be. Inner substitutions first (`{env:A:{env:B:x}}`), as tox resolves them."""
    folders: set[str] = set()

    def one(found: re.Match[str]) -> str:
        return _one(found.group(1), where, folders)

    for _ in range(8):  # nesting deeper than this is not a tox configuration anyone writes
        replaced = SUBSTITUTION.sub(one, text)
        if replaced == text:
            break
        text = replaced
    return Substituted(text, frozenset(folders))


def shell_join(args: Sequence[str]) -> str:
    """`shlex.join`, with each marker turned into its shell expansion, in double quotes."""
    words = []
    for arg in args:
        pieces = _MARKER.split(arg)  # literal, expansion, literal, expansion, ..., literal
        if len(pieces) == 1:
            words.append(shlex.quote(arg))
            continue
        words.append(
            "".join(
                f'"{_unmarked(piece)}"' if odd else shlex.quote(piece) if piece else ""
                for odd, piece in ((i % 2 == 1, p) for i, p in enumerate(pieces))
            )
        )
    return " ".join(words)


def has_run_time_values(text: str) -> bool:
    return _MARK in text


def _one(key: str, where: Where, folders: set[str]) -> str:
    name, _, rest = key.partition(":")
    if name == "posargs":
        return rest
    if name == "tty":
        return rest.partition(":")[2]  # `{tty:on:off}`: there is no terminal here
    if name == "env" and rest:
        return _variable(rest, where)
    if key in _ROOT_PATHS:
        return _path(where, _ROOT_PATHS[key], folders)
    if key in ("envtmpdir", "env_tmp_dir"):
        return _path(where, f"{_WORK}/{where.env}/tmp", folders)  # noqa: S108 (in the checkout)
    if key in ("envlogdir", "env_log_dir"):
        return _path(where, f"{_WORK}/{where.env}/log", folders)
    if key in ("envname", "env_name"):
        return where.env
    if key in ("envpython", "env_python", "host_python"):
        return "python"  # the check's virtualenv is first on PATH
    if key == "/":
        return "/"
    if key == ":":
        return ":"
    if key in _RUN_TIME:
        if not where.shell:
            raise Untranslatable(f"the substitution `{{{excerpt(key)}}}` in `setenv`")
        return _marker(_RUN_TIME[key])
    raise Untranslatable(f"the substitution `{{{excerpt(key)}}}`")


# Paths inside the checkout (None: the root itself); the folders tox creates are created too.
_ROOT_PATHS = {
    "toxinidir": None,
    "tox_root": None,
    "package_root": None,
    "toxworkdir": _WORK,
    "work_dir": _WORK,
    "temp_dir": f"{_WORK}/.tmp",
    "distdir": f"{_WORK}/dist",
}
# The environment's own folders: the check's virtualenv, known only when the commands run.
_RUN_TIME = {
    "envdir": "$VIRTUAL_ENV",
    "env_dir": "$VIRTUAL_ENV",
    "envbindir": "$VIRTUAL_ENV/bin",
    "env_bin_dir": "$VIRTUAL_ENV/bin",
    "envsitepackagesdir": _SITE_PACKAGES,
    "env_site_packages_dir": _SITE_PACKAGES,
    "py_dot_ver": _PY_DOT_VER,
    "homedir": "$HOME",
}


def _path(where: Where, relative: str | None, folders: set[str]) -> str:
    if relative is None:
        return where.root
    folders.add(relative)
    return posixpath.normpath(posixpath.join(where.root, relative))


# What the runner gives every command (runner.environment_variables, the proxies of network
# steps): a setting reading one of these would need its value in the check.
_SET_IN_A_CHECK = frozenset(
    ("PATH", "VIRTUAL_ENV", "HOME", "LANG", "CI", "CONVEYOR", "PYTHONUNBUFFERED", "TMPDIR")
) | frozenset(PROXY_VARIABLES)


def _variable(rest: str, where: Where) -> str:
    """`{env:X}` / `{env:X:default}`: the env's own `setenv` value, else the variable when the
    command runs (tox reads its own process's variables: here, the check's)."""
    name, has_default, default = rest.partition(":")
    if name in where.setenv:
        return where.setenv[name]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise Untranslatable(f"the substitution `{{env:{excerpt(rest)}}}`")
    if not where.shell:
        if has_default:
            return default  # the project's own variables are not set in a check
        if name in _SET_IN_A_CHECK:
            # Its value is the check's own (PATH, HOME...), which a setting cannot spell.
            raise Untranslatable(f"the substitution `{{env:{excerpt(name)}}}` in `setenv`")
        # tox gives an unset variable without a default as "" (pyparsing's
        # `PYTHONPATH = {env:PYTHONPATH}{:}{toxinidir}`); the check sets no other.
        return ""
    if re.search(r"\s", default):
        # tox splits such a default into several arguments; a quoted expansion would not.
        return default
    pieces = _MARKER.split(default)  # a default may itself be a run-time value: `{env:B:x}`
    inner = "".join(
        _unmarked(piece) if i % 2 else _ESCAPED_IN_EXPANSION.sub(r"\\\1", piece)
        for i, piece in enumerate(pieces)
    )
    return _marker(f"${{{name}-{inner}}}")


def _marker(shell: str) -> str:
    return f"{_MARK}{shell.encode().hex()}{_END}"


def _unmarked(hexed: str) -> str:
    return bytes.fromhex(hexed).decode()


__all__ = ["Substituted", "Where", "has_run_time_values", "shell_join", "substitute"]
