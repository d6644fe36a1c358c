"""What a project declares that its tests need: requirements files, dependency groups, extras.

They are read the way pip reads them (names normalized, `-r` includes and `include-group`
followed), so that the set chosen is the one pip installs, and Conveyor knows whether it brings
pytest.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.suite.project import (
    Project,
    ini_list,
    literal_strings,
    setup_call_kwargs,
    table,
)
from app.suite.repository_files import CONFIG_LIMIT, UnreadableFile, is_file, list_dir, read_text

# Names projects give their test dependencies, most specific first: `dev` often also pulls in
# docs and release tools, so it is the last resort.
TEST_SET_NAMES = ("test", "tests", "testing", "dev")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """PEP 503 name normalization: dependency groups and extras compare this way."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str | None:
    found = _REQUIREMENT_NAME.match(requirement)
    return normalize(found.group(1)) if found else None


def requirement_names(requirements: Sequence[str]) -> set[str]:
    return {name for r in requirements if (name := requirement_name(r))}


@dataclass(frozen=True)
class Requirements:
    """Requirements files followed through their `-r`/`-c` includes."""

    files: tuple[str, ...]
    names: frozenset[str]


def read_requirements(root: Path, relative: str) -> Requirements:
    files: list[str] = []
    names: set[str] = set()
    _follow_requirements(root, relative, files, names)
    return Requirements(tuple(files), frozenset(names))


def _follow_requirements(root: Path, relative: str, files: list[str], names: set[str]) -> None:
    relative = os.path.normpath(relative)
    if relative in files or relative.startswith(".."):
        return
    try:
        text = read_text(root, relative, limit=CONFIG_LIMIT)
    except UnreadableFile:
        # A link out of the repository (`-r /etc/...` too), a FIFO, a huge file: not followed,
        # and not a dependency file; pip, in the sandbox, says what it makes of it.
        return
    if text is None:
        return
    files.append(relative)
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        include = re.match(r"^(?:-r|-c|--requirement|--constraint)[\s=]*(\S+)", line)
        if include:
            target = os.path.join(os.path.dirname(relative), include.group(1))
            _follow_requirements(root, target, files, names)
        elif line and not line.startswith(("-", "#", ".", "/")):
            name = requirement_name(line)
            if name:
                names.add(name)


_REQUIREMENTS_TEST = re.compile(
    r"^(?:(?:requirements|reqs?)[-_])?(?:test|tests|testing)(?:[-_](?:requirements|reqs?))?\.(txt|in)$"
)
_REQUIREMENTS_DEV = re.compile(
    r"^(?:(?:requirements|reqs?)[-_])?(?:dev|develop|development)(?:[-_](?:requirements|reqs?))?\.(txt|in)$"
)


def find_test_requirements(root: Path) -> str | None:
    """The requirements file for tests (test-specific before dev; pinned .txt before .in)."""
    candidates: list[str] = []
    for folder in ("", "requirements", "reqs"):
        # None also for a folder linked to a place outside the repository: it is not listed.
        for name in list_dir(root, folder or ".") or ():
            relative = f"{folder}/{name}" if folder else name
            # At the root a file must say it is a requirements file (`test.txt` could be anything).
            if (folder or "req" in name) and is_file(root, relative):
                candidates.append(relative)
    if is_file(root, "tests/requirements.txt"):
        candidates.append("tests/requirements.txt")

    def rank(relative: str) -> tuple[int, int]:
        name = relative.rsplit("/", 1)[-1]
        kind = 0 if _REQUIREMENTS_TEST.match(name) or relative.startswith("tests/") else 1
        return kind, 0 if name.endswith(".txt") else 1

    matching = [
        c
        for c in candidates
        if c.startswith("tests/")
        or _REQUIREMENTS_TEST.match(c.rsplit("/", 1)[-1])
        or _REQUIREMENTS_DEV.match(c.rsplit("/", 1)[-1])
    ]
    return min(matching, key=rank) if matching else None


def dependency_groups(pyproject: Mapping[str, Any]) -> dict[str, list[str]]:
    """PEP 735 groups by normalized name, `include-group` entries expanded."""
    raw = table(pyproject, "dependency-groups")
    groups = {normalize(name): value for name, value in raw.items() if isinstance(value, list)}

    def expand(name: str, seen: frozenset[str]) -> list[str]:
        result: list[str] = []
        for item in groups.get(name, []):
            if isinstance(item, str):
                result.append(item)
            elif isinstance(item, Mapping) and isinstance(item.get("include-group"), str):
                included = normalize(item["include-group"])
                if included not in seen:  # a cycle is pip's error to report, not ours
                    result.extend(expand(included, seen | {included}))
        return result

    return {name: expand(name, frozenset({name})) for name in groups}


def extras(project: Project) -> dict[str, list[str]]:
    """Extras from pyproject, setup.cfg or a literal `extras_require` in setup.py."""
    found: dict[str, list[str]] = {}
    for name, value in table(project.pyproject, "project", "optional-dependencies").items():
        if isinstance(value, list):
            found[normalize(name)] = [v for v in value if isinstance(v, str)]
    if project.setup_cfg.has_section("options.extras_require"):
        for name, value in project.setup_cfg.items("options.extras_require"):
            found.setdefault(normalize(name), ini_list(value))
    setup_kwargs = setup_call_kwargs(project.setup_py)
    extras_require = setup_kwargs.get("extras_require")
    if isinstance(extras_require, ast.Dict):
        for key, value in zip(extras_require.keys, extras_require.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.setdefault(normalize(key.value), literal_strings(value) or [])
    return found


def choose_set(sets: Mapping[str, Sequence[str]]) -> str | None:
    """The test dependency set to use: the first name in TEST_SET_NAMES that brings pytest,
    else the first that exists."""
    present = [name for name in TEST_SET_NAMES if name in sets]
    for name in present:
        if "pytest" in {requirement_name(r) for r in sets[name]}:
            return name
    return present[0] if present else None
