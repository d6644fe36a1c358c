"""tox's configuration translated into plain install and test commands.

tox.ini, `[tox:tox]` in setup.cfg, `[tool.tox]` (native or `legacy_tox_ini`) and tox.toml are read
in tox's own order; the main test environment's deps, extras, dependency groups and commands are
translated when they are simple, and tox itself runs when they are not.
"""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.suite.project import Project, ini_list, read_ini, read_toml, table
from app.suite.recipe import (
    PIP_INSTALL,
    SUBSTITUTION,
    Recipe,
    Untranslatable,
    pip_install,
    requirement_files_in,
    run_tool_itself,
)
from app.suite.repository_files import excerpt

_PY_FACTOR = re.compile(r"^(py|pypy)(\d+(\.?\d+)?)?$|^\d+\.\d+$")


@dataclass(frozen=True)
class ToxEnv:
    """One tox environment's settings, factor conditions already applied."""

    name: str
    deps: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()  # shell-ready
    commands_pre: tuple[str, ...] = ()
    setenv: tuple[tuple[str, str], ...] = ()
    skip_install: bool = False
    editable: bool = False
    changedir: str = ""
    source: str = "tox.ini"
    problems: tuple[str, ...] = field(default=())  # why it cannot be translated


def tox_recipe(project: Project) -> Recipe | None:
    source, env_names, read_env = _tox_source(project)
    if source is None:
        return None
    name = _tox_test_env(env_names)
    if name is None:
        return None
    try:
        env = read_env(name)
    except Untranslatable as exc:
        return run_tool_itself("tox", source, name, str(exc), _tox_fallback(name))
    if env.problems:
        return run_tool_itself("tox", source, name, env.problems[0], _tox_fallback(name))
    return _env_recipe(project, env)


def _tox_fallback(env: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (f"{PIP_INSTALL} tox",), (f"tox run -e {shlex.quote(_tox_env_for_any_python(env))}",)


def _tox_env_for_any_python(env: str) -> str:
    # `py310` needs Python 3.10; `py` is whichever Python runs tox: the check's own.
    factors = env.split("-")
    return "py" if all(_PY_FACTOR.match(f) for f in factors) else env


def _tox_source(project: Project) -> tuple[str | None, list[str], Callable[[str], ToxEnv]]:
    """Where tox reads its configuration, in tox's own order, and how to read an env from it."""
    root = project.root
    # tox.ini is read, not just noted: one that leads outside the repository is a ConfigError.
    tox_ini = read_ini(root, "tox.ini")
    if tox_ini is not None:
        return (
            "tox.ini",
            _ini_env_list(tox_ini, "tox"),
            lambda n: _ini_env(tox_ini, n, "tox.ini"),
        )
    if project.setup_cfg.has_section("tox:tox"):
        cfg = project.setup_cfg
        return "setup.cfg", _ini_env_list(cfg, "tox:tox"), lambda n: _ini_env(cfg, n, "setup.cfg")
    tool_tox = table(project.pyproject, "tool", "tox")
    if isinstance(tool_tox.get("legacy_tox_ini"), str):
        ini = configparser.ConfigParser(interpolation=None, strict=False)
        ini.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            ini.read_string(tool_tox["legacy_tox_ini"])
        except configparser.Error:
            return None, [], _no_env
        return (
            "pyproject.toml",
            _ini_env_list(ini, "tox"),
            lambda n: _ini_env(ini, n, "pyproject.toml"),
        )
    if tool_tox:
        return "pyproject.toml", _toml_env_list(tool_tox), lambda n: _toml_env(tool_tox, n)
    tox_toml = read_toml(root, "tox.toml")
    if tox_toml:
        return (
            "tox.toml",
            _toml_env_list(tox_toml),
            lambda n: _toml_env(tox_toml, n, "tox.toml"),
        )
    return None, [], _no_env


def _no_env(name: str) -> ToxEnv:
    raise Untranslatable(f"no configuration for `{name}`")


def _tox_test_env(names: Sequence[str]) -> str | None:
    """The env a person would run for the tests: the newest plain Python env, else one named
    like tests, else the newest Python's first env with other factors."""
    plain = [n for n in names if _PY_FACTOR.match(n)]
    if plain:
        return max(plain, key=_python_factor_version)
    for wanted in ("tests", "test", "unit", "pytest", "py"):
        if wanted in names:
            return wanted
    with_python = [n for n in names if any(_PY_FACTOR.match(f) for f in n.split("-"))]
    if with_python:  # the newest Python's first combination (`py312-django42`)
        return max(with_python, key=lambda n: _python_factor_version(_python_factor(n)))
    return None if names else "py"  # no env_list: tox's default is the base env


def _python_factor(env: str) -> str:
    return next((f for f in env.split("-") if _PY_FACTOR.match(f)), "")


def _python_factor_version(name: str) -> tuple[int, ...]:
    digits = re.sub(r"[^\d.]", "", name)
    if "." not in digits and len(digits) >= 2:
        digits = f"{digits[0]}.{digits[1:]}"
    return tuple(int(p) for p in digits.split(".") if p) or (0,)


def _ini_env_list(ini: configparser.ConfigParser, core: str) -> list[str]:
    raw = ini.get(core, "env_list", fallback="") or ini.get(core, "envlist", fallback="")
    names = [n for item in _split_outside_braces(raw) for n in expand_braces(item)]
    if not names:
        # Without an env list, the envs tox knows are the ones with a section.
        names = [s.split(":", 1)[1] for s in ini.sections() if s.startswith("testenv:")]
    return names


def _split_outside_braces(value: str) -> list[str]:
    items, depth, current = [], 0, ""
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char in ",\n" and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    return [i for i in items if i and not i.startswith("#")]


def expand_braces(item: str) -> list[str]:
    """tox's generative names: `py3{11,12}-django{42,50}` → four envs; `{10-12}` is a range."""
    found = re.search(r"\{([^{}]*)\}", item)
    if not found:
        return [item]
    choices: list[str] = []
    for choice in found.group(1).split(","):
        span = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", choice)
        if span:
            choices += [str(i) for i in range(int(span.group(1)), int(span.group(2)) + 1)]
        else:
            choices.append(choice.strip())
    head, tail = item[: found.start()], item[found.end() :]
    return [e for c in choices for e in expand_braces(head + c + tail)]


_FACTOR_LINE = re.compile(r"^\s*(!?[\w.{}]+(?:[-,]!?[\w.{}]+)*)\s*:\s+(.*)$")


def _factor_filter(value: str, factors: frozenset[str]) -> list[str]:
    """Lines of a tox INI value that apply to an env with these factors (`py311,py312: dep`)."""
    kept: list[str] = []
    for line in _continued_lines(value):
        conditional = _FACTOR_LINE.match(line)
        if conditional and not conditional.group(1).startswith(("-", "http")):
            if _factors_match(conditional.group(1), factors):
                kept.append(conditional.group(2).strip())
        elif line.strip() and not line.strip().startswith("#"):
            kept.append(line.strip())
    return kept


def _continued_lines(value: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for line in value.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _factors_match(condition: str, factors: frozenset[str]) -> bool:
    # `a,b` is OR, `a-b` is AND, `!a` is NOT; `py3{10,11}` is `py310,py311`.
    alternatives = [e for part in _split_outside_braces(condition) for e in expand_braces(part)]
    return any(
        all(
            (f[1:] not in factors) if f.startswith("!") else (f in factors) for f in part.split("-")
        )
        for part in alternatives
    )


def _ini_env(ini: configparser.ConfigParser, name: str, source: str) -> ToxEnv:
    sections = [s for s in (f"testenv:{name}", "testenv") if ini.has_section(s)]
    factors = frozenset(name.split("-"))
    problems: list[str] = []

    def raw(*keys: str) -> str | None:
        for section in sections:
            for key in keys:
                if ini.has_option(section, key):
                    return ini.get(section, key)
        return None

    def lines(*keys: str) -> list[str]:
        value = raw(*keys)
        if value is None:
            return []
        substituted = []
        for line in _factor_filter(value, factors):
            try:
                substituted.append(substitute(line, name))
            except Untranslatable as exc:
                problems.append(str(exc))
        return substituted

    def flag(*keys: str) -> bool:
        value = raw(*keys)
        return value is not None and value.strip().lower() in ("true", "1", "yes")

    package = (raw("package") or "").strip()
    if package == "external":
        problems.append("`package = external`")
    core = "tox" if ini.has_section("tox") else "tox:tox"
    skipsdist = ini.get(core, "skipsdist", fallback="").strip().lower() == "true"
    # An inline ` # comment` is tox's to drop, not pip's to read.
    deps = tuple(a for line in lines("deps") for a in _dep_args(re.sub(r"\s+#.*$", "", line)))
    setenv = tuple(_setenv_pair(line, problems) for line in lines("setenv", "set_env"))
    return ToxEnv(
        name=name,
        deps=deps,
        extras=tuple(e for line in lines("extras") for e in ini_list(line)),
        groups=tuple(g for line in lines("dependency_groups") for g in ini_list(line)),
        commands=tuple(_ini_command(line, problems) for line in lines("commands")),
        commands_pre=tuple(_ini_command(line, problems) for line in lines("commands_pre")),
        setenv=tuple(pair for pair in setenv if pair[0]),
        skip_install=flag("skip_install") or package == "skip" or skipsdist,
        editable=flag("usedevelop", "use_develop") or package.startswith("editable"),
        changedir=(lines("changedir", "change_dir") or [""])[0],
        source=source,
        problems=tuple(problems),
    )


def _dep_args(line: str) -> list[str]:
    # `-rrequirements.txt` and `-r requirements.txt` are both pip's; keep pip's own spelling.
    return shlex.split(line) if line.startswith("-") else [line]


def _setenv_pair(line: str, problems: list[str]) -> tuple[str, str]:
    if line.startswith("file|"):
        problems.append("`setenv` from a file")
        return "", ""
    key, _, value = line.partition("=")
    return key.strip(), value.strip()


def _ini_command(line: str, problems: list[str]) -> str:
    ignore_errors = line.startswith("-")
    if line.startswith("!"):
        problems.append("an inverted command (`!`)")
    text = line.lstrip("-!").strip()
    try:
        command = shlex.join(shlex.split(text))
    except ValueError:
        problems.append(f"unbalanced quotes in `{excerpt(text, 60)}`")
        command = text
    return f"{command} || true" if ignore_errors else command


def substitute(text: str, env: str) -> str:
    """tox's `{...}` substitutions that have a fixed meaning here; anything else is
    Untranslatable (it depends on tox's own state or on the environment at run time)."""

    def one(found: re.Match[str]) -> str:
        key = found.group(1)
        if key == "posargs" or key.startswith("posargs:"):
            return key.partition(":")[2]
        fixed = {
            "toxinidir": ".",
            "tox_root": ".",
            "envpython": "python",
            "env_python": "python",
            "envname": env,
            "env_name": env,
            # tox's own value (relative to the root): pytest's --basetemp often points there.
            "envtmpdir": "/".join((".tox", env, "tmp")),
            "env_tmp_dir": "/".join((".tox", env, "tmp")),
            "/": "/",
            ":": ":",
        }
        if key in fixed:
            return fixed[key]
        raise Untranslatable(f"the substitution `{{{excerpt(key)}}}`")

    return SUBSTITUTION.sub(one, text)


def _toml_env_list(config: Mapping[str, Any]) -> list[str]:
    raw = config.get("env_list", config.get("envlist", []))
    names = [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []
    return names or list(table(config, "env"))


def _toml_env(config: Mapping[str, Any], name: str, source: str = "pyproject.toml") -> ToxEnv:
    merged = {**table(config, "env_run_base"), **table(config, "env", name)}
    problems: list[str] = []

    def strings(key: str) -> list[str]:
        value = merged.get(key, [])
        items = value if isinstance(value, list) else [value]
        result = []
        for item in items:
            if not isinstance(item, str):
                problems.append(f"a computed value in `{excerpt(key)}`")
                continue
            try:
                result.append(substitute(item, name))
            except Untranslatable as exc:
                problems.append(str(exc))
        return result

    def commands(key: str) -> list[str]:
        value = merged.get(key, [])
        return [_toml_command(c, name, problems) for c in value] if isinstance(value, list) else []

    package = str(merged.get("package", ""))
    set_env = merged.get("set_env", {})
    env_pairs: list[tuple[str, str]] = []
    for key, value in set_env.items() if isinstance(set_env, Mapping) else []:
        if isinstance(value, str):
            try:
                env_pairs.append((key, substitute(value, name)))
            except Untranslatable as exc:
                problems.append(str(exc))
        else:
            problems.append(f"a computed value in `set_env.{excerpt(key)}`")
    return ToxEnv(
        name=name,
        deps=tuple(a for d in strings("deps") for a in _dep_args(d)),
        extras=tuple(strings("extras")),
        groups=tuple(strings("dependency_groups")),
        commands=tuple(commands("commands")),
        commands_pre=tuple(commands("commands_pre")),
        setenv=tuple(env_pairs),
        skip_install=merged.get("skip_install") is True or package == "skip",
        editable=merged.get("use_develop") is True or package.startswith("editable"),
        changedir=(strings("change_dir") or [""])[0] if "change_dir" in merged else "",
        source=source,
        problems=tuple(problems) + (("`package = external`",) if package == "external" else ()),
    )


def _toml_command(command: Any, env: str, problems: list[str]) -> str:
    """One tox TOML command: a list of strings and `{replace = "posargs", ...}` tables."""
    if not isinstance(command, list):
        problems.append("a command that is not a list")
        return ""
    args: list[str] = []
    for part in command:
        if isinstance(part, str):
            try:
                args.append(substitute(part, env))
            except Untranslatable as exc:
                problems.append(str(exc))
        elif isinstance(part, Mapping) and part.get("replace") == "posargs":
            default = part.get("default", [])
            args += [substitute(d, env) for d in default if isinstance(d, str)]
        else:
            shown = excerpt(dict(part) if isinstance(part, Mapping) else part, 60)
            problems.append(f"the replacement `{shown}`")
    return shlex.join(args)


def _env_recipe(project: Project, env: ToxEnv) -> Recipe:
    install: list[str] = []
    files = [env.source]
    if env.deps:
        install.append(pip_install(env.deps))
        files += requirement_files_in(project.root, env.deps)
    package_args: list[str] = []
    for group in env.groups:
        package_args += ["--group", group]
    if not env.skip_install and project.is_package:
        target = f".[{','.join(env.extras)}]" if env.extras else "."
        package_args += ["-e", target] if env.editable else [target]
    if package_args:
        install.append(pip_install(package_args))
    cd = f"cd {shlex.quote(env.changedir)} && " if env.changedir not in ("", ".") else ""
    test = tuple(f"{cd}{c}" for c in (*env.commands_pre, *env.commands) if c)
    return Recipe(
        install=tuple(install),
        test=test,
        detected=(f"tox env `{env.name}` in {env.source}",),
        details=(
            "Its deps, extras, dependency groups and commands run as plain commands, "
            "so the environment can be cached and the test step runs without the network.",
        ),
        files=tuple(files),
        env=env.setenv,
    )
