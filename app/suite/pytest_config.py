"""pytest's own configuration of the project, read as pytest reads it: which file, which tests.

pytest takes the first file in the root that configures it, in this order (its rootdir rules):
`pytest.ini` (even empty), `.pytest.ini`, `pytest.toml`, `.pytest.toml` (pytest 9, `[pytest]`),
`pyproject.toml` (`[tool.pytest.ini_options]`, or pytest 9's native `[tool.pytest]` table whose
values are TOML lists), `tox.ini` (`[pytest]`), `setup.cfg` (`[tool:pytest]`). Of it, discovery
needs `python_files` (file name globs), `testpaths` (folders or globs where collection starts)
and `norecursedirs` (folder globs never entered). ini values are split on whitespace as pytest
splits them (shlex); TOML values are lists, or a string split the same way.
"""

from __future__ import annotations

import configparser
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.suite.project import (
    DEFAULT_NORECURSEDIRS,
    DEFAULT_PYTHON_FILES,
    read_ini,
    read_toml,
    table,
)
from app.suite.repository_files import UnreadableFile

T = TypeVar("T")


@dataclass(frozen=True)
class PytestConfig:
    # Where it was read ("pyproject.toml [tool.pytest.ini_options]"), "" when nowhere.
    source: str = ""
    python_files: tuple[str, ...] = DEFAULT_PYTHON_FILES
    testpaths: tuple[str, ...] = ()
    norecursedirs: tuple[str, ...] = DEFAULT_NORECURSEDIRS

    @property
    def found(self) -> bool:
        return bool(self.source)


def read_pytest_config(root: Path) -> PytestConfig:
    """The configuration pytest would use when run from the root; defaults without one."""
    for name in ("pytest.ini", ".pytest.ini"):
        ini = _readable(read_ini, root, name)
        if ini is not None:  # pytest.ini counts even without a [pytest] section
            return _from_ini(f"{name} [pytest]", ini, "pytest")
    for name in ("pytest.toml", ".pytest.toml"):
        data = _readable(read_toml, root, name) or {}
        if "pytest" in data:
            return _from_toml(f"{name} [pytest]", table(data, "pytest"))
    pyproject = read_toml(root, "pyproject.toml")
    if "ini_options" in table(pyproject, "tool", "pytest"):
        options = table(pyproject, "tool", "pytest", "ini_options")
        return _from_toml("pyproject.toml [tool.pytest.ini_options]", options)
    if "pytest" in table(pyproject, "tool"):
        return _from_toml("pyproject.toml [tool.pytest]", table(pyproject, "tool", "pytest"))
    tox_ini = _readable(read_ini, root, "tox.ini")
    if tox_ini is not None and tox_ini.has_section("pytest"):
        return _from_ini("tox.ini [pytest]", tox_ini, "pytest")
    setup_cfg = _readable(read_ini, root, "setup.cfg")
    if setup_cfg is not None and setup_cfg.has_section("tool:pytest"):
        return _from_ini("setup.cfg [tool:pytest]", setup_cfg, "tool:pytest")
    return PytestConfig()


def _readable(read: Callable[[Path, str], T], root: Path, name: str) -> T | None:
    """The file read, None when absent or when Conveyor does not read it (a link that leads
    outside, say): only named for pytest, such a file is as good as none; the rules that need
    its content say so themselves."""
    try:
        return read(root, name)
    except UnreadableFile:
        return None


def _from_ini(source: str, parser: configparser.ConfigParser, section: str) -> PytestConfig:
    def value(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if not parser.has_section(section) or not parser.has_option(section, key):
            return default
        return _split(parser.get(section, key)) or default

    return _config(source, value)


def _from_toml(source: str, options: dict[str, Any]) -> PytestConfig:
    def value(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        given = options.get(key)
        if isinstance(given, str):
            return _split(given) or default
        if isinstance(given, list) and all(isinstance(item, str) for item in given):
            return tuple(given) or default
        return default

    return _config(source, value)


def _config(source: str, value: Any) -> PytestConfig:
    return PytestConfig(
        source=source,
        python_files=value("python_files", DEFAULT_PYTHON_FILES),
        testpaths=value("testpaths", ()),
        norecursedirs=value("norecursedirs", DEFAULT_NORECURSEDIRS),
    )


def _split(text: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text))
    except ValueError:  # an unclosed quote: pytest would refuse it; read it plainly
        return tuple(text.split())
