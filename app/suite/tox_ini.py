"""tox's INI configuration read into a ToxEnv: tox.ini, `[tox:tox]` in setup.cfg and
`legacy_tox_ini` in pyproject.toml.

As tox 4 reads it: env lists and generative section names with their braces expanded, the lines of
a value kept by its factor conditions, `{[section]key}` references replaced, then each line's
substitutions (tox_substitutions.py).
"""

from __future__ import annotations

import configparser
import posixpath
import re

from app.suite.project import ini_list
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


def ini_env_list(ini: configparser.ConfigParser, core: str) -> list[str]:
    """The envs tox knows, in order: the `core` section's env list (`[tox]`, `[tox:tox]` in
    setup.cfg), braces expanded; without one, the envs the `[testenv:...]` sections name."""
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


def ini_env(ini: configparser.ConfigParser, name: str, source: str) -> ToxEnv:
    """The env `name` as tox reads it from `source`: the first section that names it, then
    `[testenv]`; what cannot be translated is in its `problems`."""
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
    changedir = relative_changedir(
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
        a for line in lines("deps", where=at_root) for a in dep_args(re.sub(r"\s+#.*$", "", line))
    )
    commands = Commands(problems)
    for key in COMMAND_KEYS:
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
        locked=(raw("runner") or "").strip() == UV_LOCK_RUNNER,
    )


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


def _setenv_pair(line: str, problems: list[str]) -> tuple[str, str]:
    if line.startswith("file|"):
        problems.append("`setenv` from a file")
        return "", ""
    key, _, value = line.partition("=")
    return key.strip(), value.strip()
