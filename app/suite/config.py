"""What a repository says Conveyor runs: `[tool.conveyor]` in pyproject.toml, or `.conveyor.yml`.

Both files take the same structure; a repository uses one of them (both is an error). Reading
them (the line of each key, YAML's parsing and its bounds) is config_files.py's; this module checks
the settings and makes the Plan.

In pyproject.toml:

    [tool.conveyor]
    python = ["3.11", "3.12"]   # default Python versions for every check (optional)
    timeout = 900               # seconds, default for every check (optional; default 1800)

    [tool.conveyor.checks.tests]
    install = ["pip install -e .[test]"]   # shell commands, run with the network (optional)
    run = ["pytest -q"]                     # shell commands (required)
    python = ["3.11", "3.12"]               # → check runs "tests (3.11)" and "tests (3.12)"
    timeout = 600                           # seconds for the whole check, install included
    env = { DJANGO_SETTINGS_MODULE = "site.settings" }
    network = false                         # may the run commands use the network (default false)
    secrets = ["PYPI_TOKEN"]                # names of variables whose values are masked in output

    [tool.conveyor.checks.lint]
    install = "pip install ruff"
    run = "ruff check ."

The same in .conveyor.yml:

    python: ["3.11", "3.12"]
    timeout: 900
    checks:
      tests:
        install: ["pip install -e .[test]"]
        run: ["pytest -q"]
        python: ["3.11", "3.12"]
        timeout: 600
        env: {DJANGO_SETTINGS_MODULE: site.settings}
        network: false
        secrets: [PYPI_TOKEN]
      lint:
        install: pip install ruff
        run: ruff check .

Rules:
- `checks` is required and names at least one check; each check is its own check run on GitHub.
  A check name is 1 to 100 characters, on one line.
- `install` and `run` are a string (one command) or a list of strings; `run` must not be empty.
  Commands run with `sh -c` in the repository's root, in a fresh virtualenv that is on PATH
  (`python` and `pip` are the virtualenv's).
- `python` is a version like "3.12" (or exactly "3.12.1") or a list of them; quote them in
  YAML, where 3.10 is a number. One version keeps the check's name; several make one check run
  per version, named "name (3.12)". A check without `python` takes the top-level one, else
  the server's default.
- `timeout` is a positive number of seconds; a check's own overrides the top-level one.
- `env` maps variable names to strings (quote numbers and booleans).
- `network` is true or false; `secrets` is a list of variable names.
- No text holds a NUL character, no number is beyond 64 bits (MAX_NUMBER), and nothing is nested
  deeper than MAX_DEPTH. In YAML, at most MAX_ALIASES aliases, and at most MAX_VALUES values
  with every alias expanded (a few hundred bytes of aliases of aliases can stand for billions).
  (These bounds are config_files.py's.)

Every mistake is a ConfigError with the file, the line of the offending key or value, what is
wrong and what is allowed; it becomes a failed check run whose summary points there.
"""

from __future__ import annotations

import difflib
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.suite.config_files import (
    PYPROJECT,
    YAML_FILE,
    Document,
    Key,
    plain_values,
    read_yaml,
    toml_document,
)
from app.suite.plan import DEFAULT_TIMEOUT, CheckSpec, ConfigError, Plan
from app.suite.project import existing_dependency_files, parse_toml
from app.suite.repository_files import CONFIG_LIMIT, excerpt, is_file, read_text

TOML_ORIGIN = "pyproject.toml [tool.conveyor]"
MAX_CHECK_NAME = 100

TOP_KEYS = ("python", "timeout", "checks")
CHECK_KEYS = ("install", "run", "python", "timeout", "env", "network", "secrets")
# Words people use elsewhere (GitHub Actions, tox, nox) for what these keys mean.
_SYNONYMS = {
    "commands": "run",
    "command": "run",
    "script": "run",
    "scripts": "run",
    "steps": "run",
    "test": "run",
    "tests": "run",
    "deps": "install",
    "dependencies": "install",
    "setup": "install",
    "environment": "env",
    "python-version": "python",
    "python_version": "python",
    "versions": "python",
    "timeout-minutes": "timeout",
}
MAX_TIMEOUT = 10**9  # seconds (31 years): a bound, not a limit anyone meets
_PYTHON_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")  # "3.12", or exactly "3.12.1"
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def load_config(root: Path) -> Plan | None:
    """The plan the repository configures, None when it has no Conveyor configuration.

    Either file leading outside the repository (a symlink to a host file), not being a regular
    file, or being larger than CONFIG_LIMIT is a ConfigError naming it, whose message says
    nothing of what is out there (repository_files.UnreadableFile).
    """
    text = read_text(root, PYPROJECT, limit=CONFIG_LIMIT) or ""
    # pip would fail on invalid TOML as well: parse_toml says so now, where it is.
    data = parse_toml(PYPROJECT, text)
    tool = data.get("tool")
    in_toml = isinstance(tool, Mapping) and "conveyor" in tool
    yaml_text = read_text(root, YAML_FILE, limit=CONFIG_LIMIT)
    in_yaml = yaml_text is not None
    if in_toml and in_yaml:
        raise ConfigError(
            PYPROJECT,
            toml_document(text).locate(()),
            f"Conveyor is configured twice: in [tool.conveyor] here and in {YAML_FILE}. "
            "Keep one of them.",
        )
    if in_toml:
        assert isinstance(tool, Mapping)
        document = toml_document(text)
        plain_values(tool["conveyor"], document)
        return _plan(root, tool["conveyor"], document, TOML_ORIGIN)
    if yaml_text is not None:
        data, document = read_yaml(yaml_text)
        return _plan(root, data, document, YAML_FILE)
    misnamed = ".conveyor.yaml"
    if is_file(root, misnamed):
        raise ConfigError(misnamed, None, f"Conveyor reads `{YAML_FILE}`: rename this file.")
    return None


# --------------------------------------------------------------------------------------------
# From parsed data to a plan


def _plan(root: Path, data: Any, doc: Document, origin: str) -> Plan:
    if not isinstance(data, Mapping):
        raise doc.error(
            (),
            f"`{doc.name(())}` must be a {doc.mapping} with `checks`, not {_describe(data)}.",
        )
    _check_keys(data, (), TOP_KEYS, doc)
    default_python = _python_versions(data, (), doc)
    default_timeout = _timeout(data, (), doc, DEFAULT_TIMEOUT)
    checks = data.get("checks")
    where = doc.name(("checks",))
    if checks is None:
        raise doc.error((), f"`{where}` is missing: name at least one check, with its `run`.")
    if not isinstance(checks, Mapping) or not checks:
        got = "nothing" if isinstance(checks, Mapping) else _describe(checks)
        raise doc.error(
            ("checks",),
            f"`{where}` must be a {doc.mapping} of checks (name → install, run...), not {got}.",
        )
    specs: list[CheckSpec] = []
    for name, check in checks.items():
        specs += _check(root, name, check, doc, origin, default_python, default_timeout)
    _unique_names(specs, doc)
    return Plan(checks=tuple(specs), origin=origin)


def _check(
    root: Path,
    name: Any,
    data: Any,
    doc: Document,
    origin: str,
    default_python: tuple[str, ...],
    default_timeout: float,
) -> list[CheckSpec]:
    at: tuple[Key, ...] = ("checks", str(name))
    _check_name(name, at, doc)
    if not isinstance(data, Mapping):
        raise doc.error(
            at,
            f"check `{name}` must be a {doc.mapping} with `run` (and `install`...), not "
            f"{_describe(data)}.",
        )
    _check_keys(data, at, CHECK_KEYS, doc)
    if "run" not in data:
        raise doc.error(at, f"check `{name}` has no `run`: say which commands run the check.")
    install = _commands(data, at, "install", doc, required=False)
    run = _commands(data, at, "run", doc, required=True)
    versions = _python_versions(data, at, doc) or default_python or ("",)
    line = doc.locate(at)
    table_name = f"[{doc.name(at)}]" if doc.prefix else f"`{doc.name(at)}`"
    explanation = (
        f"Configured in {doc.path}: {table_name}" + (f", line {line}." if line else "."),
        "To change what runs, edit it there — see README.",
    )
    spec = CheckSpec(
        name=name,
        python="",
        install=install,
        test=run,
        timeout=_timeout(data, at, doc, default_timeout),
        env=_env(data, at, doc),
        network=_flag(data, at, "network", doc),
        dependency_files=_dependency_files(root, doc.path, install),
        secrets=_secrets(data, at, doc),
        explanation=explanation,
    )
    if len(versions) == 1:
        return [_with_python(spec, versions[0], name)]
    return [_with_python(spec, v, f"{name} ({v})") for v in versions]


def _with_python(spec: CheckSpec, python: str, name: str) -> CheckSpec:
    return replace(spec, python=python, name=name)


def _check_name(name: Any, at: tuple[Key, ...], doc: Document) -> None:
    if not isinstance(name, str):
        raise doc.error(at, f"check names must be text, not {_describe(name)}.")
    if not name.strip():
        raise doc.error(at, "a check name is empty: name it, e.g. `tests` or `lint`.")
    if len(name) > MAX_CHECK_NAME:
        raise doc.error(
            at,
            f"the check name `{excerpt(name)}` is {len(name)} characters long; "
            f"at most {MAX_CHECK_NAME} are allowed.",
        )
    if "\n" in name or "\r" in name:
        raise doc.error(
            at, f"the check name {excerpt(repr(name))} spans lines; it must be on one line."
        )


def _check_keys(
    data: Mapping[Any, Any], at: tuple[Key, ...], allowed: Sequence[str], doc: Document
) -> None:
    for key in data:
        if key in allowed:
            continue
        words = [*allowed, *(w for w, meant in _SYNONYMS.items() if meant in allowed)]
        close = difflib.get_close_matches(str(key).lower(), words, n=1, cutoff=0.6)
        hint = f" Did you mean `{_SYNONYMS.get(close[0], close[0])}`?" if close else ""
        raise doc.error(
            (*at, str(key)),
            f"unknown key `{excerpt(key)}` in `{doc.name(at)}`.{hint} "
            f"Allowed: {', '.join(allowed)}.",
        )


def _commands(
    data: Mapping[str, Any], at: tuple[Key, ...], key: str, doc: Document, *, required: bool
) -> tuple[str, ...]:
    value = data.get(key)
    where = doc.name((*at, key))
    if value is None and not required:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise doc.error(
            (*at, key),
            f"`{where}` must be a command (a string) or a list of commands, not "
            f"{_describe(value)}.",
        )
    if required and not value:
        raise doc.error((*at, key), f"`{where}` is empty: give at least one command to run.")
    for index, command in enumerate(value):
        if not isinstance(command, str):
            raise doc.error(
                (*at, key, index),
                f"`{where}` item {index + 1} must be a command (a string), not "
                f"{_describe(command)}.",
            )
        if not command.strip():
            raise doc.error((*at, key, index), f"`{where}` item {index + 1} is an empty command.")
    return tuple(value)


def _python_versions(
    data: Mapping[str, Any], at: tuple[Key, ...], doc: Document
) -> tuple[str, ...]:
    if "python" not in data:
        return ()
    value = data["python"]
    where = doc.name((*at, "python"))
    items = [value] if not isinstance(value, list) else value
    if not items:
        raise doc.error((*at, "python"), f'`{where}` is an empty list: give versions like "3.12".')
    versions: list[str] = []
    for index, item in enumerate(items):
        place: tuple[Key, ...] = (
            (*at, "python", index) if isinstance(value, list) else (*at, "python")
        )
        if isinstance(item, float | int) and not isinstance(item, bool):
            raise doc.error(
                place,
                f"`{where}`: {excerpt(item)} is a number; write Python versions as quoted text, "
                f'like "3.12" (a number turns 3.10 into 3.1).',
            )
        if not isinstance(item, str) or not _PYTHON_VERSION.match(item):
            shown = excerpt(repr(item)) if isinstance(item, str) else _describe(item)
            raise doc.error(
                place, f'`{where}`: {shown} is not a Python version like "3.12" (major.minor).'
            )
        if item in versions:
            raise doc.error(place, f"`{where}` lists {item} twice.")
        versions.append(item)
    return tuple(versions)


def _timeout(data: Mapping[str, Any], at: tuple[Key, ...], doc: Document, default: float) -> float:
    if "timeout" not in data:
        return default
    value = data["timeout"]
    valid = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
    if not valid:
        shown = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        raise doc.error(
            (*at, "timeout"),
            f"`{doc.name((*at, 'timeout'))}` must be a positive number of seconds, not "
            f"{excerpt(shown) if shown is not None else _describe(value)}.",
        )
    if value > MAX_TIMEOUT:
        # float() of a longer integer overflows; no check runs for more than 31 years anyway.
        raise doc.error(
            (*at, "timeout"),
            f"`{doc.name((*at, 'timeout'))}` is too large: at most {MAX_TIMEOUT} seconds.",
        )
    return float(value)


def _env(
    data: Mapping[str, Any], at: tuple[Key, ...], doc: Document
) -> tuple[tuple[str, str], ...]:
    value = data.get("env", {})
    where = doc.name((*at, "env"))
    if not isinstance(value, Mapping):
        raise doc.error(
            (*at, "env"),
            f"`{where}` must be a {doc.mapping} of variable names to values, not "
            f"{_describe(value)}.",
        )
    pairs = []
    for key, item in value.items():
        place = (*at, "env", str(key))
        if not isinstance(key, str) or not _VARIABLE_NAME.match(key):
            raise doc.error(
                place,
                f"`{where}`: {excerpt(repr(key))} is not a variable name (letters, digits and _, "
                "not starting with a digit).",
            )
        if not isinstance(item, str):
            raise doc.error(
                place,
                f"`{where}.{excerpt(key)}` must be a string, not {_describe(item)}: quote it, "
                f'e.g. "{_yaml_like(item)}".',
            )
        pairs.append((key, item))
    return tuple(pairs)


def _flag(data: Mapping[str, Any], at: tuple[Key, ...], key: str, doc: Document) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise doc.error(
            (*at, key), f"`{doc.name((*at, key))}` must be true or false, not {_describe(value)}."
        )
    return value


def _secrets(data: Mapping[str, Any], at: tuple[Key, ...], doc: Document) -> tuple[str, ...]:
    value = data.get("secrets", [])
    where = doc.name((*at, "secrets"))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise doc.error(
            (*at, "secrets"), f"`{where}` must be a list of variable names, not {_describe(value)}."
        )
    for index, item in enumerate(items):
        if not isinstance(item, str) or not _VARIABLE_NAME.match(item):
            shown = excerpt(repr(item)) if isinstance(item, str) else _describe(item)
            raise doc.error(
                (*at, "secrets", index),
                f"`{where}`: {shown} is not a variable name (letters, digits and _).",
            )
    return tuple(items)


def _unique_names(specs: Sequence[CheckSpec], doc: Document) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            base = spec.name.split(" (", 1)[0]
            raise doc.error(
                ("checks", base),
                f"two checks would both be named `{spec.name}`; rename one of them.",
            )
        seen.add(spec.name)


def _dependency_files(root: Path, config: str, install: Sequence[str]) -> tuple[str, ...]:
    """What a cached environment depends on: the config, the conventional dependency files, and
    files the install commands name (`-r ci/requirements.txt`)."""
    files = dict.fromkeys((config, *existing_dependency_files(root)))
    for command in install:
        try:
            tokens = shlex.split(command)
        except ValueError:
            continue
        for token in tokens:
            candidate = re.sub(r"^(-r|-c|--requirement=|--constraint=)", "", token)
            inside = candidate and not candidate.startswith(("-", "/")) and ".." not in candidate
            # is_file: a file the commands name that leads outside is not one the key hashes.
            if inside and is_file(root, candidate):
                files[Path(candidate).as_posix()] = None
    return tuple(files)


def _describe(value: Any) -> str:
    """What a value is, for a message; a value from the file is quoted only as an excerpt."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({excerpt(value)})"
    if isinstance(value, str):
        return f"a string ({excerpt(repr(value))})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table/mapping"
    return f"a {type(value).__name__}"


def _yaml_like(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    # A list or mapping goes through excerpt's bounded repr: str() of it may never end.
    return excerpt(value if isinstance(value, list | Mapping) else str(value))
