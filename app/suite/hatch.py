"""hatch's test environment and scripts translated into plain install and test commands.

Environments come from `[tool.hatch.envs.*]` or hatch.toml, merged over their templates; a test
script is expanded into its commands, and hatch itself runs when a script cannot be.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.suite.dependencies import requirement_names
from app.suite.project import Project, TestFiles, read_toml, table
from app.suite.pytest_or_unittest import choose_test_command
from app.suite.recipe import (
    SUBSTITUTION,
    Recipe,
    Untranslatable,
    hatch_itself,
    pip_install,
    run_tool_itself,
)
from app.suite.repository_files import excerpt

_HATCH_TEST_SCRIPTS = ("test", "tests", "cov", "test-cov", "unit")
# What `hatch test` installs into its `hatch-test` env (hatch's documented defaults).
_HATCH_TEST_DEPENDENCIES = (
    "pytest",
    "pytest-mock",
    "pytest-randomly",
    "pytest-rerunfailures",
    "pytest-xdist",
    "coverage[toml]",
)


def hatch_recipe(project: Project, tests: TestFiles) -> Recipe | None:
    envs = table(project.pyproject, "tool", "hatch", "envs")
    source = "pyproject.toml"
    if not envs:
        envs, source = table(read_toml(project.root, "hatch.toml"), "envs"), "hatch.toml"
    candidates = [name for name in ("test", "tests", "default") if name in envs]
    for name in candidates:
        merged = _hatch_env(envs, name)
        script = next((s for s in _HATCH_TEST_SCRIPTS if s in table(merged, "scripts")), None)
        if script:
            return _env_recipe(project, tests, name, merged, script, source)
    if "hatch-test" in envs:
        return _env_recipe(
            project, tests, "hatch-test", _hatch_env(envs, "hatch-test"), None, source
        )
    for name in candidates:  # no test script: the env's dependencies, then pytest or unittest
        merged = _hatch_env(envs, name)
        if merged.get("dependencies") or merged.get("extra-dependencies"):
            return _env_recipe(project, tests, name, merged, None, source)
    return None


def _hatch_env(envs: Mapping[str, Any], name: str) -> dict[str, Any]:
    """An env merged over its template chain (every env's template defaults to `default`)."""
    env = table(envs, name)
    if env.get("detached") is True:
        return {**env, "skip-install": True}
    template = env.get("template", "default")
    if template == name or not isinstance(template, str) or template not in envs:
        return env
    base = _hatch_env(envs, template)
    scripts = {**table(base, "scripts"), **table(env, "scripts")}
    return {**base, **env, "scripts": scripts}


def _env_recipe(
    project: Project,
    tests: TestFiles,
    name: str,
    env: Mapping[str, Any],
    script: str | None,
    source: str,
) -> Recipe:
    deps = [d for d in env.get("dependencies", []) if isinstance(d, str)]
    deps += [d for d in env.get("extra-dependencies", []) if isinstance(d, str)]
    if name == "hatch-test":
        deps = [*_HATCH_TEST_DEPENDENCIES, *deps]
    features = [f for f in env.get("features", []) if isinstance(f, str)]
    args = list(deps)
    if env.get("skip-install") is not True and project.is_package:
        target = f".[{','.join(features)}]" if features else "."
        args += ["-e", target] if env.get("dev-mode", True) is not False else [target]
    if script is None:
        test_command = choose_test_command(project, tests, frozenset(requirement_names(deps)))
        # `hatch test` turns pytest-randomly's random order off unless asked.
        flags = " -p no:randomly" if name == "hatch-test" else ""
        test = [test_command.command + flags]
        args += ["pytest"] if test_command.needs_pytest_install else []
        where = f"hatch env `{name}` in {source}; {test_command.description}"
    else:
        try:
            test = _hatch_script(table(env, "scripts"), script, frozenset())
        except Untranslatable as exc:
            target = f"{name}:{script}"
            fallback = hatch_itself(name, target)
            return run_tool_itself("hatch", source, target, str(exc), fallback)
        where = f"script `{script}` of hatch env `{name}` in {source}"
    return Recipe(
        install=(pip_install(args),) if args else (),
        test=tuple(test),
        detected=(where,),
        files=(source,),
        env=tuple((k, str(v)) for k, v in table(env, "env-vars").items()),
    )


def _hatch_script(scripts: Mapping[str, Any], name: str, seen: frozenset[str]) -> list[str]:
    if name in seen:
        raise Untranslatable(f"the recursive script `{excerpt(name)}`")
    value = scripts.get(name)
    commands = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    result: list[str] = []
    for command in commands:
        if not isinstance(command, str):
            raise Untranslatable(f"a computed command in script `{excerpt(name)}`")
        ignore = command.startswith("- ")
        text = _hatch_substitute(command.removeprefix("- "))
        first, _, rest = text.partition(" ")
        if first in scripts:  # a script may call another script by name
            expanded = _hatch_script(scripts, first, seen | {name})
            result += [f"{e} {rest}".strip() for e in expanded]
        else:
            result.append(f"{text} || true" if ignore else text)
    return result


def _hatch_substitute(text: str) -> str:
    def one(found: re.Match[str]) -> str:
        key = found.group(1)
        if key == "args" or key.startswith("args:"):
            return key.partition(":")[2]
        if key in ("root", "/"):
            return "." if key == "root" else "/"
        raise Untranslatable(f"the context field `{{{excerpt(key)}}}`")

    return re.sub(r"\s+", " ", SUBSTITUTION.sub(one, text)).strip()
