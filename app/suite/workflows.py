"""The extras a project's own CI installs, read from its GitHub workflows as text.

`pip install -e .[all]`, `pip install ".[test,ci]"`, `uv sync --all-extras` or `--extra x` in
.github/workflows say which optional dependencies the tests are run with there: a project whose
tests import its extras' modules fails collection without them. Only the lines that install the
project itself (`.`) count; `${{ matrix.extra }}` and other expressions are left out.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from app.suite.repository_files import CONFIG_LIMIT, UnreadableFile, list_dir, read_text

_FOLDER = ".github/workflows"
_INSTALL = re.compile(r"\b(?:pip install|uv pip install|uv sync|pdm install)\b[^\n#]*")
# `.[a,b]`, `".[a,b]"`, `'.[a]'`, `-e .[a]`, `--editable=.[a]`: the project itself with extras.
_PROJECT_EXTRAS = re.compile(r"""(?:^|[\s="'])\.\[([A-Za-z0-9_.,\s-]+)\]""")
_EXTRA_FLAG = re.compile(r"--extra[\s=]+([A-Za-z0-9_.-]+)")


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
