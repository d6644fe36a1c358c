"""tox's TOML configuration read into a ToxEnv: `[tool.tox]` in pyproject.toml and tox.toml.

Settings are lists of strings, with their `{...}` substitutions (tox_substitutions.py), and
`{ replace = "posargs" | "env", ... }` tables, spelled as tox.ini would spell them; what is
computed otherwise (a `ref`, a `marker`) is a problem, and tox itself runs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any

from app.suite.project import table
from app.suite.recipe import Untranslatable
from app.suite.repository_files import excerpt
from app.suite.tox_env import (
    COMMAND_KEYS,
    UV_LOCK_RUNNER,
    Commands,
    ToxEnv,
    dep_args,
    relative_changedir,
)
from app.suite.tox_substitutions import Where, substitute


def toml_env_list(config: Mapping[str, Any]) -> list[str]:
    """The envs of `env_list` (or `envlist`), else those `[env]` names."""
    raw = config.get("env_list", config.get("envlist", []))
    names = [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []
    return names or list(table(config, "env"))


def toml_env(config: Mapping[str, Any], name: str, source: str = "pyproject.toml") -> ToxEnv:
    """The env `name`: `[env.<name>]` over `[env_run_base]`; what cannot be translated is in its
    `problems`."""
    merged = {**table(config, "env_run_base"), **table(config, "env", name)}
    problems: list[str] = []
    folders: set[str] = set()

    def one(item: str, where: Where) -> str | None:
        try:
            done = substitute(item, where)
        except Untranslatable as exc:
            problems.append(str(exc))
            return None
        folders.update(done.folders)
        return done.text

    def strings(key: str, where: Where) -> list[str]:
        value = merged.get(key, [])
        items = value if isinstance(value, list) else [value]
        result = []
        for item in items:
            if not isinstance(item, str):
                problems.append(f"a computed value in `{excerpt(key)}`")
            elif (text := one(item, where)) is not None:
                result.append(text)
        return result

    package = str(merged.get("package", ""))
    changedir = relative_changedir(
        strings("change_dir", Where(name, shell=False)) if "change_dir" in merged else [],
        problems,
    )
    # The commands run in change_dir: the paths they are given are written from there.
    root = posixpath.relpath(".", changedir or ".")
    set_env = merged.get("set_env", {})
    setenv: dict[str, str] = {}
    for key, given in set_env.items() if isinstance(set_env, Mapping) else []:
        value = _toml_set_env_value(given)
        if value is None:
            problems.append(f"a computed value in `set_env.{excerpt(key)}`")
        elif (text := one(value, Where(name, root=root, setenv=setenv, shell=False))) is not None:
            setenv[key] = text
    values = Where(name, setenv=setenv, shell=False)
    in_changedir = Where(name, root=root, setenv=setenv)
    commands = Commands(problems)
    for key in COMMAND_KEYS:
        commands.key = key
        for command in _toml_commands(merged.get(key, [])):
            args = _toml_command(command, in_changedir, problems, one)
            if args is not None:
                commands.add_args(args)
    return ToxEnv(
        name=name,
        deps=tuple(a for d in strings("deps", Where(name, setenv=setenv)) for a in dep_args(d)),
        extras=tuple(strings("extras", values)),
        groups=tuple(strings("dependency_groups", values)),
        commands=tuple(commands.test),
        post_commands=tuple(commands.post),
        install_commands=tuple(commands.install),
        setenv=tuple(setenv.items()),
        skip_install=merged.get("skip_install") is True or package == "skip",
        editable=merged.get("use_develop") is True or package.startswith("editable"),
        changedir=changedir,
        folders=tuple(sorted(folders)),
        source=source,
        problems=tuple(problems) + (("`package = external`",) if package == "external" else ()),
        locked=merged.get("runner") == UV_LOCK_RUNNER,
    )


def _toml_set_env_value(value: Any) -> str | None:
    """A `set_env` value as tox.ini would spell it: `{ replace = "env", name = "X", default =
    "d" }` is `{env:X:d}`. None for what is computed otherwise (a `ref`, a `marker`)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping) or value.get("replace") != "env" or "marker" in value:
        return None
    name, default = value.get("name"), value.get("default", "")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_]\w*", name):
        return None
    return f"{{env:{name}:{default}}}" if isinstance(default, str) else None


def _toml_commands(listed: Any) -> list[Any]:
    """A TOML list of commands, where `{ replace = "posargs", default = ... }` stands for its
    default (no positional arguments here): several commands when it lists lists, else one."""
    commands: list[Any] = []
    for command in listed if isinstance(listed, list) else []:
        if isinstance(command, Mapping) and command.get("replace") == "posargs":
            default = command.get("default", [])
            several = isinstance(default, list) and all(isinstance(c, list) for c in default)
            commands += default if several else [default]
        else:
            commands.append(command)
    return commands


def _toml_command(
    command: Any,
    where: Where,
    problems: list[str],
    one: Callable[[str, Where], str | None],
) -> list[str] | None:
    """One tox TOML command: a list of strings and `{replace = "posargs" | "env", ...}` tables."""
    if not isinstance(command, list):
        problems.append("a command that is not a list")
        return None
    args: list[str] = []
    for part in command:
        if isinstance(part, str):
            text = one(part, where)
            args += [text] if text is not None else []
        elif isinstance(part, Mapping) and part.get("replace") == "posargs":
            default = part.get("default", [])
            args += [t for d in default if isinstance(d, str) and (t := one(d, where)) is not None]
        elif isinstance(part, Mapping) and part.get("replace") == "env" and part.get("name"):
            default = part.get("default", "")
            spelled = f"{{env:{part['name']}:{default}}}" if isinstance(default, str) else ""
            text = one(spelled, where) if spelled else None
            args += [text] if text is not None else []
        else:
            shown = excerpt(dict(part) if isinstance(part, Mapping) else part, 60)
            problems.append(f"the replacement `{shown}`")
    return args
