"""A fresh virtualenv for each interpreter, made once and copied.

`python -m venv` spends 2–3 s of CPU installing pip (and setuptools, before Python 3.12) from the
wheels the interpreter bundles, and the result is the same every time: most of a small project's
first run. Each new environment gets a copy of a venv made once instead (a tenth of the time).

A template is made in the sandbox, at the path where every environment's venv is
(`/conveyor/env/venv`), so that its scripts' absolute paths hold in every copy; by the
interpreter alone: `python -I -m venv` from an empty folder, with a fixed environment, the
network off and no repository's file in reach (ensurepip starts pip with the folder it runs in
on its path, and honours PYTHON* variables). No run ever sees a template: copies are made outside
the sandbox, into the run's own environment folder. A template is keyed by the interpreter's
path, version and file, so an upgraded interpreter gets a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import stat
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.suite.pythons import Interpreter

FORMAT = 1  # bump when what a template holds changes
VENV = "venv"  # in a template's folder, and in an environment's
READY = "ready"  # beside VENV, written by the service once the venv is made

# Makes a venv in `folder/venv` (the folder shown at /conveyor/env); true when it succeeded.
MakeVenv = Callable[[Path], Awaitable[bool]]


class VenvTemplates:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def key(interpreter: Interpreter, target: str) -> str:
        """Which template serves `interpreter` for a venv at `target` (its path in the sandbox)."""
        info = os.stat(interpreter.executable)
        identity = [
            FORMAT,
            str(interpreter.executable),
            interpreter.version,
            target,
            info.st_size,
            info.st_mtime_ns,
            info.st_ino,
        ]
        return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:24]

    async def copy_into(
        self, interpreter: Interpreter, target: str, folder: Path, make: MakeVenv
    ) -> bool:
        """Copy the template of `interpreter` into `folder/venv`, making it first (with `make`)
        if there is none yet. False when none could be made: the caller makes the venv itself."""
        key = self.key(interpreter, target)
        ready = self.root / key
        if not _is_ready(ready):
            async with self._locks.setdefault(key, asyncio.Lock()):
                if not _is_ready(ready) and not await self._make(ready, make):
                    return False
        return await _copy(ready / VENV, folder / VENV)

    async def _make(self, ready: Path, make: MakeVenv) -> bool:
        building = ready.with_name(f".{ready.name}.building-{uuid.uuid4().hex[:8]}")
        building.mkdir(parents=True)
        try:
            if not await make(building) or not (building / VENV / "pyvenv.cfg").is_file():
                return False
            (building / READY).write_text("")
            with contextlib.suppress(OSError):  # another process published one first
                building.rename(ready)
            return _is_ready(ready)
        finally:
            await asyncio.to_thread(shutil.rmtree, building, ignore_errors=True)


def _is_ready(folder: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(folder / READY).st_mode)
    except OSError:
        return False


async def _copy(source: Path, destination: Path) -> bool:
    """False if it could not be copied whole (a full disk): nothing of it is left."""
    # cp -a: links as links, owners and modes kept; three times as fast as shutil.copytree.
    copying = await asyncio.create_subprocess_exec(
        "cp",
        "-a",
        "--no-target-directory",
        str(source),
        str(destination),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await copying.communicate()
    if copying.returncode != 0:
        await asyncio.to_thread(shutil.rmtree, destination, ignore_errors=True)
        return False
    return True
