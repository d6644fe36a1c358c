"""tox's configuration translated into plain install and test commands.

tox.ini, `[tox:tox]` in setup.cfg, `[tool.tox]` (native or `legacy_tox_ini`) and tox.toml are read
in tox's own order; the main test environment's deps, extras, dependency groups and commands are
translated when they are simple, and tox itself runs when they are not.
"""

from __future__ import annotations

import configparser
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.suite.install_commands import install_step, without_runner
from app.suite.project import Project, ini_list, read_ini, read_toml, table
from app.suite.recipe import (
    PIP_INSTALL,
    Recipe,
    Untranslatable,
    pip_install,
    requirement_files_in,
    run_tool_itself,
    tox_itself,
)
from app.suite.repository_files import excerpt, is_dir
from app.suite.tox_substitutions import Where, shell_join, substitute
from app.suite.uv_lock import UV_LOCK, uv_sync
from app.suite.workflows import ci_pytest_arguments, ci_runs_tox

_PY_FACTOR = re.compile(r"^(py|pypy)(\d+(\.?\d+)?)?$|^\d+\.\d+$")


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


def tox_recipe(project: Project, python: str | None = None) -> Recipe | None:
    """`python`: the version the check runs on ("3.13"), when known. tox gives an env the
    settings of its factors, `py310` among them: the env translated is the one for that Python,
    as a person runs `tox -e py313` where 3.13 is what they have."""
    source, env_names, read_env = _tox_source(project)
    if source is None:
        return None
    listed = _tox_test_env(env_names)
    if listed is None:
        return None
    name = _env_for_python(listed, python) if python else listed
    try:
        env = read_env(name)
    except Untranslatable as exc:
        return run_tool_itself("tox", source, name, str(exc), _tox_fallback(name))
    if env.problems:
        return run_tool_itself("tox", source, name, env.problems[0], _tox_fallback(name))
    runs_something = len(env.commands) > len(env.post_commands)
    if env.install_commands and not runs_something:
        reason = "its commands only install packages"
        return run_tool_itself("tox", source, name, reason, _tox_fallback(name))
    if not runs_something:
        return None  # tox would run nothing: the next rule finds what to run
    recipe = _env_recipe(project, env)
    if name != listed:
        said = (
            f"tox env `{name}` in {source}, the one for Python {python}, which the check runs "
            f"on (rather than `{listed}` from its env list: tox gives an env the settings its "
            "factors select)"
        )
        recipe = replace(recipe, detected=(said,))
    return recipe


def _tox_fallback(env: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tox_itself(_tox_env_for_any_python(env))


def _tox_env_for_any_python(env: str) -> str:
    # `py310` needs Python 3.10; `py` is whichever Python runs tox: the check's own.
    factors = env.split("-")
    return "py" if all(_PY_FACTOR.match(f) for f in factors) else env


def _tox_source(project: Project) -> tuple[str | None, list[str], Callable[[str], ToxEnv]]:
    """Where tox reads its configuration, in tox's own order, and how to read an env from it."""
    root = project.root
    # tox.ini is read, not just noted: one that leads outside the repository is a ConfigError.
    tox_ini = read_ini(root, "tox.ini")
    if tox_ini is not None and _is_tox_config(tox_ini):
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


def _is_tox_config(ini: configparser.ConfigParser) -> bool:
    # A tox.ini that holds only other tools' settings (`[pytest]`, `[flake8]`) configures no tox
    # env: tox would run an empty default one, and a person reading it looks further.
    return any(s == "tox" or s == "testenv" or s.startswith("testenv:") for s in ini.sections())


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


def _env_for_python(env: str, python: str) -> str:
    """`env` with its Python factor naming `python`: `py310-django42` on 3.13 is
    `py313-django42`. An env without one (`tests`, or `py`: any Python) stays as it is."""
    wanted = _python_factor_version(python)[:2]
    factors = env.split("-")
    for index, factor in enumerate(factors):
        version = _python_factor_version(factor) if _PY_FACTOR.match(factor) else ()
        if len(version) < 2 or version[:2] == wanted:
            continue
        major, minor = wanted
        if re.fullmatch(r"\d+\.\d+", factor):
            factors[index] = f"{major}.{minor}"  # tox 4's `3.13`
        else:  # CPython runs the check, whether the env named py or pypy
            factors[index] = f"py{major}{'.' if '.' in factor else ''}{minor}"
    return "-".join(factors)


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
        names = [n for _, env_names in _env_sections(ini) for n in env_names]
    return list(dict.fromkeys(names))


def _env_sections(ini: configparser.ConfigParser) -> list[tuple[str, list[str]]]:
    """Each `[testenv:...]` section and the envs it names: `[testenv:py{310,311}-django]` is
    the section of `py310-django` and `py311-django`, as tox reads generative section names."""
    return [
        (section, [n for part in _split_outside_braces(section[8:]) for n in expand_braces(part)])
        for section in ini.sections()
        if section.startswith("testenv:")
    ]


def _env_section(ini: configparser.ConfigParser, name: str) -> str | None:
    # The first in the file that names it wins, as in tox (a later `[testenv:py310]` does not).
    return next((section for section, names in _env_sections(ini) if name in names), None)


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
    sections = [s for s in (_env_section(ini, name), "testenv") if s and ini.has_section(s)]
    factors = frozenset(name.split("-"))
    problems: list[str] = []
    folders: set[str] = set()

    def raw(*keys: str) -> str | None:
        for section in sections:
            for key in keys:
                if ini.has_option(section, key):
                    return _references(ini, ini.get(section, key), problems)
        return None

    def lines(*keys: str, where: Where) -> list[str]:
        value = raw(*keys)
        if value is None:
            return []
        substituted = []
        for line in _factor_filter(value, factors):
            try:
                done = substitute(line, where)
            except Untranslatable as exc:
                problems.append(str(exc))
                continue
            folders.update(done.folders)
            substituted.append(done.text)
        return substituted

    def flag(*keys: str) -> bool:
        value = raw(*keys)
        return value is not None and value.strip().lower() in ("true", "1", "yes")

    package = (raw("package") or "").strip()
    if package == "external":
        problems.append("`package = external`")
    core = "tox" if ini.has_section("tox") else "tox:tox"
    skipsdist = ini.get(core, "skipsdist", fallback="").strip().lower() == "true"
    changedir = _changedir(
        lines("changedir", "change_dir", where=Where(name, shell=False)), problems
    )
    # The commands run in changedir: the paths they are given are written from there.
    root = posixpath.relpath(".", changedir or ".")
    setenv: dict[str, str] = {}
    for line in _factor_filter(raw("setenv", "set_env") or "", factors):
        key, value = _setenv_pair(line, problems)
        try:
            done = substitute(value, Where(name, root=root, setenv=setenv, shell=False))
        except Untranslatable as exc:
            problems.append(str(exc))
            continue
        folders.update(done.folders)
        if key:
            setenv[key] = done.text
    values = Where(name, setenv=setenv, shell=False)
    at_root = Where(name, setenv=setenv)
    in_changedir = Where(name, root=root, setenv=setenv)
    # An inline ` # comment` is tox's to drop, not pip's to read.
    deps = tuple(
        a for line in lines("deps", where=at_root) for a in _dep_args(re.sub(r"\s+#.*$", "", line))
    )
    commands = _Commands(problems)
    for key in _COMMAND_KEYS:
        commands.key = key
        for line in lines(key, where=in_changedir):
            commands.add(line)
    return ToxEnv(
        name=name,
        deps=deps,
        extras=tuple(e for line in lines("extras", where=values) for e in ini_list(line)),
        groups=tuple(
            g for line in lines("dependency_groups", where=values) for g in ini_list(line)
        ),
        commands=tuple(commands.test),
        post_commands=tuple(commands.post),
        install_commands=tuple(commands.install),
        setenv=tuple(setenv.items()),
        skip_install=flag("skip_install") or package == "skip" or skipsdist,
        editable=flag("usedevelop", "use_develop") or package.startswith("editable"),
        changedir=changedir,
        folders=tuple(sorted(folders)),
        source=source,
        problems=tuple(problems),
        locked=(raw("runner") or "").strip() == _UV_LOCK_RUNNER,
    )


_UV_LOCK_RUNNER = "uv-venv-lock-runner"
_REFERENCE = re.compile(r"\{\[([^\]{}]+)\]([^{}:\s]+)\}")


def _references(ini: configparser.ConfigParser, value: str, problems: list[str]) -> str:
    """`{[section]key}` replaced by that value, as tox does, before factors and substitutions
    (a line `{[testenv]deps}` becomes the lines of those deps)."""
    for _ in range(8):

        def one(found: re.Match[str]) -> str:
            section, key = found.group(1), found.group(2)
            if ini.has_option(section, key):
                return ini.get(section, key).strip()
            problems.append(f"the reference `{excerpt(found.group(0))}` to nothing")
            return ""

        replaced = _REFERENCE.sub(one, value)
        if replaced == value:
            return value
        value = replaced
    problems.append("references nested more than 8 deep")
    return value


def _changedir(values: list[str], problems: list[str]) -> str:
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
_COMMAND_KEYS = ("commands_pre", "commands", "commands_post")


class _Commands:
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


def _dep_args(line: str) -> list[str]:
    # `-rrequirements.txt` and `-r requirements.txt` are both pip's; keep pip's own spelling.
    return shlex.split(line) if line.startswith("-") else [line]


def _setenv_pair(line: str, problems: list[str]) -> tuple[str, str]:
    if line.startswith("file|"):
        problems.append("`setenv` from a file")
        return "", ""
    key, _, value = line.partition("=")
    return key.strip(), value.strip()


def _toml_env_list(config: Mapping[str, Any]) -> list[str]:
    raw = config.get("env_list", config.get("envlist", []))
    names = [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []
    return names or list(table(config, "env"))


def _toml_env(config: Mapping[str, Any], name: str, source: str = "pyproject.toml") -> ToxEnv:
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
    changedir = _changedir(
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
    commands = _Commands(problems)
    for key in _COMMAND_KEYS:
        commands.key = key
        for command in _toml_commands(merged.get(key, [])):
            args = _toml_command(command, in_changedir, problems, one)
            if args is not None:
                commands.add_args(args)
    return ToxEnv(
        name=name,
        deps=tuple(a for d in strings("deps", Where(name, setenv=setenv)) for a in _dep_args(d)),
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
        locked=merged.get("runner") == _UV_LOCK_RUNNER,
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


def _env_recipe(project: Project, env: ToxEnv) -> Recipe:
    install: list[str] = []
    files = [env.source]
    locked = env.locked and project.has(UV_LOCK)
    if locked:
        # As tox-uv's lock runner: the locked versions of the groups and extras, then the deps.
        synced = [a for group in env.groups for a in ("--group", group)]
        synced += [a for extra in env.extras for a in ("--extra", extra)]
        skip = env.skip_install or not project.is_package
        install += uv_sync([*synced, *(["--no-install-project"] if skip else [])])
        files.append(UV_LOCK)
    if env.deps:
        install.append(shell_pip_install(env.deps))
        files += requirement_files_in(project.root, env.deps)
    package_args: list[str] = []
    for group in () if locked else env.groups:
        package_args += ["--group", group]
    if not locked and not env.skip_install and project.is_package:
        target = f".[{','.join(env.extras)}]" if env.extras else "."
        package_args += ["-e", target] if env.editable else [target]
    if package_args:
        install.append(pip_install(package_args))
    commands, ci_note = _as_ci_runs_pytest(project, env)
    cd = f"cd {shlex.quote(env.changedir)} && " if env.changedir else ""
    # tox creates its folders before the commands, and changedir; a fresh checkout may have none.
    folders = set(env.folders)
    if env.changedir and not is_dir(project.root, env.changedir):
        folders.add(env.changedir)
    mkdir = f"mkdir -p {shlex.join(sorted(folders))} && " if folders else ""
    # After the package, as tox runs them: `pip install -e .[all]` in `commands`, say.
    install += [f"{mkdir}{cd}{c}" for c in env.install_commands]
    test = [f"{cd}{c}" for c in commands]
    test[:1] = [f"{mkdir}{c}" for c in test[:1]]
    details = [
        "Its deps, extras, dependency groups and commands run as plain commands, "
        "so the environment can be cached and the test step runs without the network."
    ]
    if locked:
        details.append(
            f"Its runner is tox-uv's `{_UV_LOCK_RUNNER}`: the versions locked in {UV_LOCK} are "
            "installed (`uv sync --frozen`)."
        )
    if env.post_commands:
        details.append(
            "Its commands_post run after its commands ("
            + ", ".join(f"`{excerpt(c, 60)}`" for c in env.post_commands)
            + "), when those passed: tox runs them after a failure too, with the same outcome."
        )
    if ci_note:
        details.append(ci_note)
    if env.install_commands:
        details.append(
            "Its commands that install packages run in the install step: "
            + ", ".join(f"`{excerpt(c, 60)}`" for c in env.install_commands)
            + "."
        )
    return Recipe(
        install=tuple(install),
        test=tuple(test),
        detected=(f"tox env `{env.name}` in {env.source}",),
        details=tuple(details),
        files=tuple(files),
        env=env.setenv,
    )


# pytest with nothing after it: what `pytest {posargs}` is when tox is run without arguments.
_BARE_PYTEST = (
    ["pytest"],
    ["py.test"],
    ["python", "-m", "pytest"],
    ["coverage", "run", "-m", "pytest"],
)


def _as_ci_runs_pytest(project: Project, env: ToxEnv) -> tuple[tuple[str, ...], str]:
    """The env's commands, a bare pytest given the collection arguments of the project's CI
    when the CI runs pytest itself and never tox: toolz's tox.ini runs `py.test`, its CI
    `pytest --doctest-modules toolz/`, 76 doctests more. The note says so ("" otherwise)."""
    bare = [c for c in env.commands if _split(c) in _BARE_PYTEST]
    if not bare or env.changedir or ci_runs_tox(project.root):
        return env.commands, ""
    ci = ci_pytest_arguments(project.root)
    if not ci:
        return env.commands, ""
    joined = shlex.join(ci)
    commands = tuple(f"{c} {joined}" if c in bare else c for c in env.commands)
    note = (
        f"Its `{bare[0]}` runs with `{joined}` as the project's CI runs pytest (its GitHub "
        "workflows never run tox)."
    )
    return commands, note


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return []


def shell_pip_install(args: Sequence[str]) -> str:
    """`pip_install`, run-time values (`{envtmpdir}`, `{env:X}`) expanded by the shell."""
    return f"{PIP_INSTALL} {shell_join(args)}"
