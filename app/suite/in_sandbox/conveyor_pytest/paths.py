"""Where things are: the repository root, and an absolute file name as a repository-relative
path when the file is the project's own (not an installed package's)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _pytest.config import Config

# Folders that hold installed code rather than the project's own, wherever they sit.
FOREIGN_PARTS = frozenset(
    ("site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox", ".eggs", "__pypackages__")
)


def rootdir(config: Config) -> str:
    root = getattr(config, "rootpath", None) or getattr(config, "rootdir", None) or os.getcwd()
    return os.path.abspath(str(root))


def invocation_dir(config: Config) -> str:
    params = getattr(config, "invocation_params", None)
    return os.path.abspath(str(getattr(params, "dir", None) or os.getcwd()))


def repository_root(config: Config) -> str:
    given = os.environ.get("CONVEYOR_ROOT", "")
    if given and os.path.isabs(given):
        return os.path.normpath(given)
    start = invocation_dir(config)
    folder = start
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    root = rootdir(config)
    # `cd tests && pytest` with the ini file above: the rootdir is the outer one.
    return root if is_under(start, root) else start


def is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class Paths:
    """Absolute file names → repository-relative "/" paths, for the project's own files only."""

    def __init__(self, root: str) -> None:
        self.roots = [root]
        real = os.path.realpath(root)
        if real != root:
            self.roots.append(real)
        self.foreign = []
        for env in (os.environ.get("VIRTUAL_ENV"), sys.prefix, sys.exec_prefix, sys.base_prefix):
            # An environment inside the repository is not the project; one around it (the
            # repository inside the environment's folder) must not hide the project.
            if env and not any(is_under(r, os.path.abspath(env)) for r in self.roots):
                self.foreign.append(os.path.abspath(env))
        self.cache: dict[str, str | None] = {}

    def relative(self, filename: str) -> str | None:
        if filename not in self.cache:
            self.cache[filename] = self._relative(filename)
        return self.cache[filename]

    def _relative(self, filename: str) -> str | None:
        # "<string>", "<doctest ...>", "<frozen importlib._bootstrap>": no file to point at.
        if not filename or filename.startswith("<"):
            return None
        candidates = [os.path.abspath(filename)]
        real = os.path.realpath(filename)
        if real != candidates[0]:
            candidates.append(real)
        for path in candidates:
            if any(is_under(path, env) for env in self.foreign):
                return None
            for root in self.roots:
                if is_under(path, root) and path != root:
                    relative = os.path.relpath(path, root)
                    parts = relative.split(os.sep)
                    if FOREIGN_PARTS.intersection(parts):
                        return None
                    return "/".join(parts)
        return None


def location(report: Any, root: str, paths: Paths) -> tuple[str | None, int | None]:
    """The test's own place, its `def`, from pytest's location (relative to the rootdir)."""
    try:
        relpath, lineno = report.location[0], report.location[1]
        file = paths.relative(os.path.join(root, relpath))
        if file is None:
            return None, None
        return file, int(lineno) + 1 if isinstance(lineno, int) else 1
    except Exception:
        return None, None
