"""Each run's cgroups: found once at start, made per run, read for limits, killed and removed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from .values import Limits

_CGROUP_NAME = "conveyor"
_CLEANUP = 5.0  # killing what is left and removing the cgroups
# -- cgroups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cgroups:
    """Where each run's cgroups go: a `conveyor` folder per hierarchy, made once at start.

    On a cgroup v2 machine all of these are the same folder. In v1 "hybrid" mode (this machine)
    memory and pids are v1 hierarchies and the cgroup2 mount still gives CPU accounting
    (cpu.stat) and cgroup.kill. `None` means that part is not available here.
    """

    memory: Path | None
    memory_v2: bool
    pids: Path | None
    pids_v2: bool
    cpu: Path | None  # where the CPU time used by the whole tree is read
    cpu_v2: bool
    kill: Path | None  # a cgroup2 folder with cgroup.kill

    @property
    def bases(self) -> tuple[Path, ...]:
        found = (self.memory, self.pids, self.cpu, self.kill)
        return tuple(dict.fromkeys(base for base in found if base is not None))

    def describe(self) -> str:
        parts = []
        for name, base, v2 in (
            ("memory", self.memory, self.memory_v2),
            ("pids", self.pids, self.pids_v2),
            ("cpu", self.cpu, self.cpu_v2),
        ):
            if base is not None:
                parts.append(f"{name} (v{2 if v2 else 1})")
        if self.kill is not None:
            parts.append("kill (v2)")
        return "cgroups " + ", ".join(parts) if parts else "no cgroups"


def find_cgroups() -> tuple[Cgroups, list[str]]:
    """Make the `conveyor` parent cgroups; also says what could not be used and why."""
    notes: list[str] = []
    v1: dict[str, Path] = {}
    v2: Path | None = None
    try:
        with open("/proc/self/mounts") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        where = Path(fields[1].replace("\\040", " "))
        if fields[2] == "cgroup":
            for option in fields[3].split(","):
                if option in ("memory", "pids", "cpuacct"):
                    v1.setdefault(option, where)
        elif fields[2] == "cgroup2" and v2 is None:
            v2 = where

    v2_base: Path | None = None
    v2_controllers: set[str] = set()
    if v2 is not None:
        v2_controllers = _enable_controllers(v2, {"memory", "pids"})
        v2_base = _make_parent(v2 / _CGROUP_NAME, notes)
        if v2_base is not None:
            v2_controllers &= _enable_controllers(v2_base, v2_controllers)

    def pick(controller: str, v1_name: str) -> tuple[Path | None, bool]:
        if v2_base is not None and controller in v2_controllers:
            return v2_base, True
        if v1_name in v1:
            return _make_parent(v1[v1_name] / _CGROUP_NAME, notes), False
        return None, False

    memory, memory_v2 = pick("memory", "memory")
    pids, pids_v2 = pick("pids", "pids")
    # cpu.stat (usage_usec) is in every non-root cgroup2 folder, with or without the cpu
    # controller: the hybrid layout here has CPU accounting only there.
    cpu: Path | None
    if v2_base is not None:
        cpu, cpu_v2 = v2_base, True
    else:
        cpu, cpu_v2 = pick("cpu", "cpuacct")
    kill = v2_base if v2_base is not None and _has_kill(v2_base) else None
    found = Cgroups(memory, memory_v2, pids, pids_v2, cpu, cpu_v2, kill)
    if memory is None:
        notes.append("no memory cgroup: memory is limited by address space (RLIMIT_AS)")
    if pids is None:
        notes.append("no pids cgroup: processes are limited per user (RLIMIT_NPROC)")
    return found, notes


def _enable_controllers(folder: Path, wanted: set[str]) -> set[str]:
    """Switches on `wanted` for the children of a cgroup2 folder; returns what is on."""
    try:
        available = set((folder / "cgroup.controllers").read_text().split())
    except OSError:
        return set()
    control = folder / "cgroup.subtree_control"
    for controller in sorted((wanted & available) - _read_words(control)):
        # EBUSY when the folder holds processes itself (a container whose cgroup namespace
        # root is where the service runs): then only cgroup.kill and accounting are usable.
        with contextlib.suppress(OSError):
            control.write_text(f"+{controller}")
    return _read_words(control) & wanted


def _read_words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def _make_parent(folder: Path, notes: list[str]) -> Path | None:
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        notes.append(f"cannot create {folder}: {error.strerror}")
        return None
    _remove_stale(folder)
    return folder


def _has_kill(folder: Path) -> bool:
    # The root cgroup has no cgroup.kill; the `conveyor` folder has one if the kernel does (5.14+).
    return (folder / "cgroup.kill").exists()


def _remove_stale(parent: Path) -> None:
    """Cgroups of runs whose service process died (killed -9, power loss): kill and remove.

    Several services (and test sessions) may share the machine, so only cgroups named after a
    process that no longer exists are touched.
    """
    try:
        children = list(parent.iterdir())
    except OSError:
        return
    for child in children:
        owner = child.name.split("-", 1)[0]
        if not child.is_dir() or not owner.isdigit() or _alive(int(owner)):
            continue
        with contextlib.suppress(OSError):
            if _has_kill(child):
                (child / "cgroup.kill").write_text("1")
            for pid in _pids(child):
                _signal(pid)
            for _ in range(100):
                if not _pids(child):
                    break
                time.sleep(0.01)
            child.rmdir()


# presence.pid_running's twin: this module runs as a standalone helper in the user-namespace
# mode and may import nothing of the app.
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pids(folder: Path) -> list[int]:
    try:
        return [int(word) for word in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _signal(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


_run_numbers = itertools.count(1)


class RunCgroup:
    """The cgroups of one run: made before it starts, removed (empty) after it ends."""

    def __init__(self, layout: Cgroups, limits: Limits) -> None:
        self.layout = layout
        name = f"{os.getpid()}-{next(_run_numbers)}"
        self.folders: dict[Path, Path] = {}
        try:
            for base in layout.bases:
                folder = base / name
                folder.mkdir()
                self.folders[base] = folder
            if layout.memory is not None:
                memory = self.folders[layout.memory]
                if layout.memory_v2:
                    _write(memory / "memory.max", limits.memory_bytes)
                    # Swap would turn the memory limit into a slow crawl instead of a stop.
                    _write_if_present(memory / "memory.swap.max", 0)
                else:
                    _write(memory / "memory.limit_in_bytes", limits.memory_bytes)
                    _write_if_present(memory / "memory.memsw.limit_in_bytes", limits.memory_bytes)
            if layout.pids is not None:
                _write(self.folders[layout.pids] / "pids.max", limits.processes)
        except OSError:
            self.remove_now()
            raise
        self.procs = tuple(os.fsencode(folder / "cgroup.procs") for folder in self.folders.values())

    def oom_killed(self) -> bool:
        if self.layout.memory is None:
            return False
        folder = self.folders[self.layout.memory]
        events = "memory.events" if self.layout.memory_v2 else "memory.oom_control"
        return _counter(folder / events, "oom_kill") > 0

    def pids_refused(self) -> bool:
        if self.layout.pids is None:
            return False
        return _counter(self.folders[self.layout.pids] / "pids.events", "max") > 0

    def cpu_seconds(self) -> float:
        if self.layout.cpu is None:
            return 0.0
        folder = self.folders[self.layout.cpu]
        if self.layout.cpu_v2:
            return _counter(folder / "cpu.stat", "usage_usec") / 1e6
        try:
            return int((folder / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return 0.0

    def kill(self) -> None:
        if self.layout.kill is not None:
            with contextlib.suppress(OSError):
                (self.folders[self.layout.kill] / "cgroup.kill").write_text("1")
        for folder in self.folders.values():
            for pid in _pids(folder):
                _signal(pid)

    def empty(self) -> bool:
        return not any(_pids(folder) for folder in self.folders.values())

    async def remove(self) -> None:
        """Kill whatever is left, wait until the cgroups are empty, remove them."""
        deadline = time.monotonic() + _CLEANUP
        while True:
            self.kill()
            if self.empty() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.005)
        while True:
            self.remove_now()
            if not self.folders or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)

    def remove_now(self) -> None:
        for base, folder in list(self.folders.items()):
            try:
                folder.rmdir()
            except FileNotFoundError:
                pass
            except OSError:  # EBUSY: a process is still on its way out; remove() tries again
                continue
            del self.folders[base]


def _write(path: Path, value: int) -> None:
    path.write_text(str(value))


def _write_if_present(path: Path, value: int) -> None:
    if path.exists():
        _write(path, value)


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, number = line.partition(" ")
            if name == key:
                return int(number)
    except (OSError, ValueError):
        pass
    return 0
