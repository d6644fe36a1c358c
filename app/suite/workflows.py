"""What a project's own CI says about running its tests, read from its GitHub workflows as text.

- The extras it installs: `pip install -e .[all]`, `pip install ".[test,ci]"`, `uv sync
  --all-extras` or `--extra x` in .github/workflows say which optional dependencies the tests are
  run with there: a project whose tests import its extras' modules fails collection without
  them. Only the lines that install the project itself (`.`) count; `${{ matrix.extra }}` and
  other expressions are left out.
- What its pytest collects: `pytest --doctest-modules toolz/` runs the package's doctests and
  only that folder. The first pytest command of the workflows gives its doctest options and the
  paths it names that exist; other options (plugins, coverage, markers) are not followed.
- Whether it runs tox at all: a tox.ini the CI never runs (toolz's bare `py.test`) says less
  about what the project tests than the CI's own pytest command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from pathlib import Path

from app.suite.repository_files import (
    CONFIG_LIMIT,
    UnreadableFile,
    is_dir,
    is_file,
    list_dir,
    read_text,
)

_FOLDER = ".github/workflows"
_INSTALL = re.compile(r"\b(?:pip install|uv pip install|uv sync|pdm install)\b[^\n#]*")
# `.[a,b]`, `".[a,b]"`, `'.[a]'`, `-e .[a]`, `--editable=.[a]`: the project itself with extras.
_PROJECT_EXTRAS = re.compile(r"""(?:^|[\s="'])\.\[([A-Za-z0-9_.,\s-]+)\]""")
_EXTRA_FLAG = re.compile(r"--extra[\s=]+([A-Za-z0-9_.-]+)")
# `pytest …`, `python -m pytest …`, `coverage run -m pytest …`, `uv run pytest …`: what follows.
_PYTEST = re.compile(r"(?:^|[\s;&|(])(?:python3? -m )?pytest(?P<args>(?:[ \t][^\n#;&|]*)?)$", re.M)
_BENCHMARKS = re.compile(r"bench|codspeed")
_INSTALLS = re.compile(r"\b(?:install|add)\b")
# `tox`, `tox -e py`, `python -m tox`, `uvx tox`, `uv run tox`, tox-gh-actions' plugin.
_TOX = re.compile(r"(?:^|[\s;&|(/'\"])tox(?:-gh-actions|-gh|\b)(?![.-]ini|\.toml)", re.M)
_DOCTEST_FLAGS = ("--doctest-modules", "--doctest-continue-on-failure")
_DOCTEST_VALUED = ("--doctest-glob",)


def ci_extras(root: Path, declared: Collection[str]) -> tuple[str, ...]:
    """The extras (normalized, among `declared`) that the workflows install with the project,
    in the order first seen; every declared one for `--all-extras`."""
    found: list[str] = []
    for text in _workflow_texts(root):
        for line in _INSTALL.findall(text):
            if "--all-extras" in line:
                found += sorted(declared)
            for group in _PROJECT_EXTRAS.findall(line):
                found += [e.strip() for e in group.split(",") if e.strip()]
            found += _EXTRA_FLAG.findall(line)
    normalized = [re.sub(r"[-_.]+", "-", name).lower() for name in found]
    return tuple(dict.fromkeys(name for name in normalized if name in declared))


def ci_pytest_arguments(root: Path) -> tuple[str, ...]:
    """The doctest options and existing paths of the first pytest command in the workflows."""
    for text in _workflow_texts(root):
        for found in _PYTEST.finditer(text):
            before = text[text.rfind("\n", 0, found.start()) + 1 : found.start()]
            if _INSTALLS.search(before):
                continue  # `pip install coverage pytest`: pytest installed, not run
            args = found["args"]
            if "${{" in args:
                continue  # a matrix or other expression: not the command as it runs
            if _BENCHMARKS.search(args):
                continue  # humanize's `pytest tests/test_benchmarks.py --codspeed`: not its tests
            try:
                words = shlex.split(args)
            except ValueError:
                continue
            return _collection_arguments(root, words)
    return ()


def ci_runs_tox(root: Path) -> bool:
    """Whether any workflow runs tox (or installs the tox-gh-actions plugin)."""
    return any(_TOX.search(_without_comments(text)) for text in _workflow_texts(root))


def _without_comments(text: str) -> str:
    return re.sub(r"(?:^|\s)#[^\n]*", "", text)


def _collection_arguments(root: Path, words: list[str]) -> tuple[str, ...]:
    kept: list[str] = []
    value_follows = False
    for word in words:
        if value_follows:
            kept.append(word)
            value_follows = False
        elif word in _DOCTEST_FLAGS or word.startswith(tuple(f"{v}=" for v in _DOCTEST_VALUED)):
            kept.append(word)
        elif word in _DOCTEST_VALUED:
            kept.append(word)
            value_follows = True
        elif not word.startswith("-") and "--pyargs" not in words and _is_path(root, word):
            kept.append(word)
    return tuple(kept[:-1] if value_follows and kept else kept)


def _is_path(root: Path, word: str) -> bool:
    path = word.split("::")[0].rstrip("/")
    if not path or path.startswith("/") or ".." in path.split("/"):
        return False
    return is_dir(root, path) or is_file(root, path)


def _workflow_texts(root: Path) -> list[str]:
    texts = []
    for name in sorted(list_dir(root, _FOLDER) or ()):
        if not name.endswith((".yml", ".yaml")):
            continue
        try:
            text = read_text(root, f"{_FOLDER}/{name}", limit=CONFIG_LIMIT)
        except UnreadableFile:
            continue  # a link out of the repository, a FIFO: not evidence
        if text is not None:
            texts.append(text)
    return texts
