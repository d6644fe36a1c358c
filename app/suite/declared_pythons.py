"""The Python versions a project says it is tested on, and where it says so.

A person picks the interpreter from what the project declares: its classifiers, its tox env_list
(`py312`, `3.12`), its nox sessions' `python=`, and the `python-version` matrix of its GitHub
workflows. Read as text (never run); only 3.x versions are collected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.suite.project import Project, literal_strings, setup_call_kwargs, table
from app.suite.repository_files import CONFIG_LIMIT, UnreadableFile, list_dir, read_text

_CLASSIFIER = re.compile(r"^Programming Language :: Python :: (3\.\d+)$")
_TOX_FACTOR = re.compile(r"(?<![\w.])(?:py|pypy)?3\.?(\d{1,2})(?![\d])")
_VERSION = re.compile(r"""["']?\b3\.(\d{1,2})\b(?!\.\d)["']?""")


@dataclass(frozen=True)
class Declared:
    versions: tuple[str, ...]  # "3.12", oldest first
    sources: tuple[str, ...]  # "classifiers", "tox env_list", "noxfile.py", "GitHub workflows"


def declared_pythons(project: Project) -> Declared:
    found: dict[str, list[str]] = {}

    def add(source: str, versions: list[str]) -> None:
        for version in versions:
            found.setdefault(source, []).append(version)

    add("classifiers", _classifiers(project))
    add("tox env_list", _tox(project.root))
    add("noxfile.py", _nox(project.root))
    add("GitHub workflows", _workflows(project.root))
    versions = {v for vs in found.values() for v in vs}
    ordered = tuple(sorted(versions, key=lambda v: int(v.split(".")[1])))
    return Declared(ordered, tuple(source for source, vs in found.items() if vs))


def _classifiers(project: Project) -> list[str]:
    listed = table(project.pyproject, "project").get("classifiers", [])
    texts = [c for c in listed if isinstance(c, str)] if isinstance(listed, list) else []
    texts += project.setup_cfg.get("metadata", "classifiers", fallback="").splitlines()
    node = setup_call_kwargs(project.setup_py).get("classifiers")
    texts += (literal_strings(node) or []) if node is not None else []
    return [m.group(1) for t in texts if (m := _CLASSIFIER.match(t.strip()))]


def _text(root: Path, relative: str) -> str:
    try:
        return read_text(root, relative, limit=CONFIG_LIMIT) or ""
    except UnreadableFile:
        return ""


def _tox(root: Path) -> list[str]:
    text = _text(root, "tox.ini") + _text(root, "tox.toml")
    lists = re.findall(r"^\s*env_?list\s*=\s*((?:.*\n?)(?:[ \t]+.*\n?)*)", text, re.MULTILINE)
    versions = []
    for listed in lists:
        # `py3{10,11,12}` names three.
        for brace in re.findall(r"py3\{([\d,\s-]+)\}", listed):
            versions += [f"3.{n.strip()}" for n in brace.split(",") if n.strip().isdigit()]
        versions += [f"3.{n}" for n in _TOX_FACTOR.findall(listed)]
    return versions


def _nox(root: Path) -> list[str]:
    text = _text(root, "noxfile.py")
    versions = []
    for value in re.findall(r"python\s*=\s*(\[[^\]]*\]|\"[^\"]*\"|'[^']*')", text):
        versions += [f"3.{n}" for n in _VERSION.findall(value)]
    return versions


def _workflows(root: Path) -> list[str]:
    versions = []
    for name in sorted(list_dir(root, ".github/workflows") or ()):
        if not name.endswith((".yml", ".yaml")):
            continue
        text = _text(root, f".github/workflows/{name}")
        # `python-version: ["3.11", "3.12"]`, or a list under it, one version an item (not the
        # next step of a list of steps: `- uses: pre-commit/action@v3.0.1`, `- run: … ~=3.4`).
        for found in re.finditer(
            r"python(?:-version)?s?\s*:\s*(.*(?:\n\s*-\s*[\"']?(?:pypy-?)?\d[\d.]*[\"']?[ \t]*"
            r"(?:#.*)?(?=\n|$))*)",
            text,
            re.IGNORECASE,
        ):
            versions += [f"3.{n}" for n in _VERSION.findall(found.group(1))]
    return versions
