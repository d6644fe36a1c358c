"""tox's configuration translated into plain install and test commands.

tox.ini, `[tox:tox]` in setup.cfg, `[tool.tox]` (native or `legacy_tox_ini`) and tox.toml are read
in tox's own order; the main test environment's deps, extras, dependency groups and commands are
translated when they are simple, and tox itself runs when they are not. Reading an env is
tox_ini.py's and tox_toml.py's; here the configuration and the env are chosen, and the env made a
Recipe.
"""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import replace

from app.suite.project import Project, read_ini, read_toml, table
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
from app.suite.tox_env import UV_LOCK_RUNNER, ToxEnv
from app.suite.tox_ini import ini_env, ini_env_list
from app.suite.tox_substitutions import shell_join
from app.suite.tox_toml import toml_env, toml_env_list
from app.suite.uv_lock import UV_LOCK, uv_sync
from app.suite.workflows import ci_pytest_arguments, ci_runs_tox

_PY_FACTOR = re.compile(r"^(py|pypy)(\d+(\.?\d+)?)?$|^\d+\.\d+$")


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
            ini_env_list(tox_ini, "tox"),
            lambda n: ini_env(tox_ini, n, "tox.ini"),
        )
    if project.setup_cfg.has_section("tox:tox"):
        cfg = project.setup_cfg
        return "setup.cfg", ini_env_list(cfg, "tox:tox"), lambda n: ini_env(cfg, n, "setup.cfg")
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
            ini_env_list(ini, "tox"),
            lambda n: ini_env(ini, n, "pyproject.toml"),
        )
    if tool_tox:
        return "pyproject.toml", toml_env_list(tool_tox), lambda n: toml_env(tool_tox, n)
    tox_toml = read_toml(root, "tox.toml")
    if tox_toml:
        return (
            "tox.toml",
            toml_env_list(tox_toml),
            lambda n: toml_env(tox_toml, n, "tox.toml"),
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
            f"Its runner is tox-uv's `{UV_LOCK_RUNNER}`: the versions locked in {UV_LOCK} are "
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
