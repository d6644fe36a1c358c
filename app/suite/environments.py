"""Installed environments, kept and reused while what they were built from stays the same.

This is where a CI service wins or loses: installing a project's dependencies takes seconds to
minutes, running its tests often less. An environment is keyed by the interpreter, the install
commands, the check's environment variables and the contents of every file that declares
dependencies; a later run with the same key mounts the kept environment read-only (so no run can
change it for the next) at the same path inside the sandbox, where the virtualenv's absolute paths
still hold. A run whose key is new builds its own in a private folder and publishes it with one
rename when, and only when, every install command succeeded.

Each key has a folder of the service's own, `ROOT/REPOSITORY/KEY/`, holding the ready marker and
`env/`, the only part the sandbox shows (at /conveyor/env). The install commands can write
anything into `env/`, symlinks included; the marker sits beside it, where they cannot reach, so
publishing never writes through a path a run could have planted.

A pull request from a fork reuses the repository's environments (read-only, so it cannot change
them) but never publishes one: what its install commands built is thrown away after its run, so a
stranger's setup code cannot reach the runs that come after it, which may have secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import stat
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.suite.repository_files import UnreadableFile, file_digest
from app.suite.venv_templates import VenvTemplates

CACHE_FORMAT = 2  # bump when the layout of an environment changes (2: the marker beside env/)
READY = "ready"  # in the key's folder, beside ENV
ENV = "env"  # what the sandbox shows
# Longer than the longest run (JOB_TIMEOUT is at most a day): a throwaway folder this old was left
# by a process that died.
ABANDONED_AFTER = 2 * 86400


def environment_key(
    *,
    python: str,
    install: Sequence[str],
    env: Sequence[tuple[str, str]],
    dependency_files: Sequence[str],
    project: Path,
    salt: str = "",
) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_FORMAT, python, list(install), sorted(env), salt]).encode())
    for relative in sorted(set(dependency_files)):
        digest.update(relative.encode() + b"\0")
        # Never through a link out of the repository (to /dev/zero, say, or a host file).
        try:
            found = file_digest(project, relative)
        except UnreadableFile as refused:
            found = refused.marker
        digest.update(b"<absent>" if found is None else found)
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Build:
    """A private folder to build one environment in; `publish` makes it the cached one."""

    home: Path  # the service's: holds `folder` and, once published, the marker
    final: Path  # the key's folder, once published

    @property
    def folder(self) -> Path:
        """What the install commands write: the environment itself."""
        return self.home / ENV

    def publish(self) -> Path:
        # The marker goes into the service's own folder, which no run ever sees: a symlink the
        # install commands left in `folder` cannot redirect this write.
        (self.home / READY).write_text(json.dumps({"built_at": time.time()}))
        try:
            self.home.rename(self.final)
        except OSError:
            # Another process published the same key first: theirs serves, ours goes.
            shutil.rmtree(self.home, ignore_errors=True)
        return self.final / ENV


class EnvironmentCache:
    def __init__(
        self, root: Path, *, keep_per_repository: int = 4, venvs: Path | None = None
    ) -> None:
        self.root = root
        self.keep = keep_per_repository
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        # Each interpreter's fresh venv, copied into every environment built for it.
        self.venvs = VenvTemplates(venvs or root / ".venvs")

    def folder(self, repository: str, key: str) -> Path:
        return self.root / repository / key

    def lookup(self, repository: str, key: str) -> Path | None:
        """The published environment of `key` (the folder to show at /conveyor/env), or None."""
        final = self.folder(repository, key)
        if _marked_at(final) is None:
            return None
        with contextlib.suppress(OSError):
            os.utime(final / READY)  # last used: the pruning keeps the recent ones
        return final / ENV

    @contextlib.asynccontextmanager
    async def building(self, repository: str, key: str) -> AsyncIterator[Build]:
        """One build per key at a time in this process; the folder is removed if not published."""
        lock = self._locks.setdefault((repository, key), asyncio.Lock())
        async with lock:
            final = self.folder(repository, key)
            home = final.with_name(f".{key}.building-{uuid.uuid4().hex[:8]}")
            (home / ENV).mkdir(parents=True)
            try:
                yield Build(home, final)
            finally:
                if home.exists():
                    shutil.rmtree(home, ignore_errors=True)
                self.prune(repository)

    @contextlib.asynccontextmanager
    async def throwaway(self) -> AsyncIterator[Path]:
        """A folder of its own for a run whose installs nobody else may reuse (a pull request
        from a fork: its setup code could plant something in what it installs), removed after."""
        parent = self.root / ".throwaway"
        self._remove_abandoned(parent)
        folder = parent / f"{int(time.time())}-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _remove_abandoned(parent: Path) -> None:
        """Throwaway folders of runs whose process was killed: older than any run may last."""
        with contextlib.suppress(OSError):
            for folder in parent.iterdir():
                made, _, _ = folder.name.partition("-")
                if made.isdigit() and int(made) < time.time() - ABANDONED_AFTER:
                    shutil.rmtree(folder, ignore_errors=True)

    def prune(self, repository: str) -> None:
        """Keep the most recently used environments of a repository, remove the others (and
        any left in an earlier layout, which has no marker of the service's own)."""
        folder = self.root / repository
        if not folder.is_dir():
            return
        ready: list[tuple[float, Path]] = []
        for entry in folder.iterdir():
            if entry.name.startswith("."):
                # A build in progress, unless older than any run may last (its process died).
                with contextlib.suppress(OSError):
                    if entry.lstat().st_mtime < time.time() - ABANDONED_AFTER:
                        shutil.rmtree(entry, ignore_errors=True)
                continue
            used = _marked_at(entry)
            if used is None:
                shutil.rmtree(entry, ignore_errors=True)
            else:
                ready.append((used, entry))
        ready.sort(reverse=True)
        for _, stale in ready[self.keep :]:
            shutil.rmtree(stale, ignore_errors=True)


def _marked_at(folder: Path) -> float | None:
    """When the environment in `folder` was last used: its marker's time, if it is a real file
    (never through a link)."""
    try:
        info = os.lstat(folder / READY)
    except OSError:
        return None
    return info.st_mtime if stat.S_ISREG(info.st_mode) else None
