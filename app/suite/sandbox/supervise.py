"""Running one command in the sandbox: starting it, watching its time, CPU, disk and cancel,
killing what is left, and saying which limit stopped it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.suite.pythons import Interpreter

from .cgroups import RunCgroup
from .command_line import bwrap_argv, check_mounts, host_cwd, through_egress
from .confinement import HOSTS, child_setup, filter_fd, job_environment, rlimit
from .values import (
    EGRESS_FOLDER,
    EGRESS_FORWARDER,
    Egress,
    GiB,
    Limits,
    MiB,
    Mount,
    SandboxResult,
    Setup,
)

_CPU_POLL = 0.5  # how often the whole tree's CPU time is compared with the limit
# The disk watch: the first count after _DISK_START (most commands are over by then, and pay
# nothing), then every _DISK_POLL, or less often when counting is slow (a venv of 50,000 files):
# the walk (in a thread, holding the GIL for much of it) takes at most 1/_DISK_SHARE of the time.
_DISK_START = 0.5
_DISK_POLL = 0.5
_DISK_SHARE = 10
_EXIT_POLL = 0.25  # see Sandbox._wait
_DRAIN = 2.0  # output still arriving after the command ended (pipes held by dying processes)
# What programs print when an rlimit (not a cgroup) stopped them; only read when the run failed.
_FILE_TOO_LARGE = (b"File too large",)  # strerror(EFBIG): Python ignores SIGXFSZ and raises
_OUT_OF_MEMORY = (b"MemoryError", b"Cannot allocate memory", b"std::bad_alloc")
_CANNOT_FORK = (
    b"Cannot fork",
    b"fork: Resource temporarily unavailable",
    b"fork: retry",
    b"[Errno 11] Resource temporarily unavailable",
)
_FORWARDER = Path(__file__).resolve().parent.parent / "egress_forward.py"  # app/suite/


@dataclass(frozen=True)
class _Launch:
    """One command ready to start in the sandbox, and what watches it."""

    argv: tuple[str, ...]
    cwd: str  # on the host: bwrap's own, or the command's in "none" mode
    env: Mapping[str, str]
    pass_fds: tuple[int, ...]  # the seccomp filter's and /etc/hosts' memfds, for bwrap
    limits: Limits
    started: float  # time.monotonic()
    deadline: float
    writable: tuple[Path, ...]  # what the disk watch adds up
    on_output: Callable[[bytes], None]
    cancel: asyncio.Event | None
    group: RunCgroup | None
    scan: _Scan


class Sandbox:
    """Made by open_sandbox(); run() is safe to call concurrently."""

    def __init__(self, setup: Setup) -> None:
        self._setup = setup
        self.mode: str = setup.mode
        self.description: str = setup.description

    async def run(
        self,
        command: str,
        *,
        mounts: Sequence[Mount],
        cwd: str,
        env: Mapping[str, str],
        network: bool,
        limits: Limits,
        timeout: float,
        on_output: Callable[[bytes], None],
        cancel: asyncio.Event | None = None,
        interpreters: Sequence[Interpreter] = (),
        egress: Egress | None = None,
    ) -> SandboxResult:
        """Run `command` with `/bin/sh -c`; stdout and stderr together go to on_output.

        `env` is the whole environment. Writable mounts are handed to the job user first (in
        "isolated" mode: chowned, recursively, when their top folder is not the job user's yet).
        `network` without `egress`: loopback only; with it, the egress proxy is the way out.
        """
        started = time.monotonic()
        setup = self._setup
        if not network or setup.mode == "none":
            egress = None
        if egress is not None:
            mounts = [
                *mounts,
                Mount(egress.socket.parent, EGRESS_FOLDER),
                Mount(_FORWARDER, EGRESS_FORWARDER),
            ]
        check_mounts(mounts, cwd)
        if setup.mode == "isolated":
            await _hand_over([m.host for m in mounts if m.writable], setup.uid, setup.gid)
        group = RunCgroup(setup.cgroups, limits) if setup.cgroups is not None else None
        scan = _Scan()
        try:
            with (
                filter_fd(setup.seccomp if setup.mode != "none" else None) as seccomp,
                filter_fd(HOSTS if setup.own_hosts else None, "conveyor-hosts") as hosts,
            ):
                if setup.mode == "none":
                    argv, run_cwd = ["/bin/sh", "-c", command], host_cwd(mounts, cwd)
                else:
                    env, command = job_environment(env, command)
                    argv, run_cwd = bwrap_argv(
                        setup,
                        through_egress(egress, command) if egress else command,
                        mounts,
                        cwd,
                        limits,
                        interpreters,
                        seccomp,
                        hosts,
                    )
                launch = _Launch(
                    argv=tuple(argv),
                    cwd=run_cwd,
                    env=dict(env),
                    pass_fds=tuple(fd for fd in (seccomp, hosts) if fd is not None),
                    limits=limits,
                    started=started,
                    deadline=started + timeout,
                    writable=tuple(m.host for m in mounts if m.writable),
                    on_output=on_output,
                    cancel=cancel,
                    group=group,
                    scan=scan,
                )
                return await self._run(launch)
        finally:
            if group is not None:
                # Shielded: a caller cancelling run() must not leave the cgroups behind.
                await asyncio.shield(group.remove())

    async def _run(self, launch: _Launch) -> SandboxResult:
        limits, group, scan = launch.limits, launch.group, launch.scan
        setup = self._setup
        rlimits = [
            rlimit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
            rlimit(resource.RLIMIT_FSIZE, limits.file_size_bytes),
            rlimit(resource.RLIMIT_NOFILE, limits.open_files),
            rlimit(resource.RLIMIT_CORE, 0),
        ]
        if setup.rlimit_memory:
            rlimits.append(rlimit(resource.RLIMIT_AS, limits.memory_bytes))
        if setup.rlimit_processes:
            rlimits.append(rlimit(resource.RLIMIT_NPROC, limits.processes))
        process = await asyncio.create_subprocess_exec(
            *launch.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(launch.env),
            cwd=launch.cwd,
            start_new_session=True,
            preexec_fn=child_setup(
                group.procs if group else (),
                rlimits,
                setup.own_network,
                setup.mode == "user-namespace",
            ),
            pass_fds=launch.pass_fds,
        )
        assert process.stdout is not None
        reader = asyncio.ensure_future(_pump(process.stdout, launch.on_output, scan))
        disk = asyncio.ensure_future(_watch_disk(launch.writable, limits.disk_bytes))
        try:
            timed_out, cancelled, over_cpu = await self._wait(
                process, group, limits, launch.deadline, launch.cancel, disk
            )
            over_disk = disk.done() and disk.result()
            if timed_out or cancelled or over_cpu or over_disk:
                _kill(process.pid, group)
            # asyncio's wait() can also wait for the pipes to close (3.12+); the exit is known.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), _DRAIN)
            # What the command left behind (a daemon, a background sleep) goes now. In the
            # sandboxes the pid namespace already took it down with the command, and bwrap's
            # process group is gone (its id could even be reused): only the cgroups are left.
            if setup.mode == "none":
                _kill(process.pid, group)
            elif group is not None:
                group.kill()
            try:
                await asyncio.wait_for(asyncio.shield(reader), _DRAIN)
            except TimeoutError:
                # Only in "none" mode: a process that left the group still holds the pipe.
                reader.cancel()
        finally:
            disk.cancel()
            if process.returncode is None:
                _kill(process.pid, group)
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        code = process.returncode if process.returncode is not None else -signal.SIGKILL
        returncode = 128 - code if code < 0 else code
        limit = None
        if over_disk:
            limit = f"disk limit ({_size(limits.disk_bytes)})"
        elif not (timed_out or cancelled):
            limit = self._which_limit(returncode, limits, group, scan, over_cpu)
        return SandboxResult(
            returncode=returncode,
            duration=time.monotonic() - launch.started,
            timed_out=timed_out,
            cancelled=cancelled,
            limit=limit,
        )

    async def _wait(
        self,
        process: asyncio.subprocess.Process,
        group: RunCgroup | None,
        limits: Limits,
        deadline: float,
        cancel: asyncio.Event | None,
        disk: asyncio.Future[bool],
    ) -> tuple[bool, bool, bool]:
        """Until the command exits or `disk` says it is over its disk space: (timed out,
        cancelled, over the CPU limit)."""
        exited = asyncio.ensure_future(process.wait())
        cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        waits: set[asyncio.Future[object]] = {exited, disk}  # type: ignore[arg-type]
        if cancelled is not None:
            waits.add(cancelled)  # type: ignore[arg-type]
        watch_cpu = group is not None and group.layout.cpu is not None
        try:
            while process.returncode is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True, False, False
                # Wake up now and then: to add up the CPU time of the whole tree (RLIMIT_CPU
                # is per process; a forking suite would dodge it), and to notice the exit
                # even when wait() also waits for a pipe a leftover process holds open.
                step = min(left, _CPU_POLL if watch_cpu else _EXIT_POLL)
                await asyncio.wait(waits, timeout=step, return_when=asyncio.FIRST_COMPLETED)
                if cancelled is not None and cancelled.done() and process.returncode is None:
                    return False, True, False
                if disk.done():
                    if disk.result():
                        return False, False, False  # over the disk space: run() kills it
                    waits.discard(disk)  # nothing to watch
                if (
                    watch_cpu
                    and group is not None
                    and process.returncode is None
                    and group.cpu_seconds() > limits.cpu_seconds
                ):
                    return False, False, True
            return False, False, False
        finally:
            for future in (exited, cancelled):
                if future is not None and not future.done():
                    future.cancel()

    def _which_limit(
        self,
        returncode: int,
        limits: Limits,
        group: RunCgroup | None,
        scan: _Scan,
        over_cpu: bool,
    ) -> str | None:
        """Which limit stopped the command, in words for the check run; None if none did."""
        cpu = f"CPU time limit ({limits.cpu_seconds} s)"
        if over_cpu:
            return cpu
        if returncode == 0:
            return None
        if group is not None and group.oom_killed():
            return f"memory limit ({_size(limits.memory_bytes)})"
        if returncode == 128 + signal.SIGXCPU:
            return cpu
        if group is not None and group.pids_refused():
            return f"process limit ({limits.processes})"
        if returncode == 128 + signal.SIGXFSZ or scan.saw(_FILE_TOO_LARGE):
            return f"file size limit ({_size(limits.file_size_bytes)})"
        if (
            returncode == 128 + signal.SIGKILL
            and group is not None
            and group.cpu_seconds() >= limits.cpu_seconds
        ):
            return cpu  # RLIMIT_CPU's hard limit: the command ignored SIGXCPU
        if self._setup.rlimit_memory and scan.saw(_OUT_OF_MEMORY):
            return f"memory limit ({_size(limits.memory_bytes)})"
        if self._setup.rlimit_processes and scan.saw(_CANNOT_FORK):
            return f"process limit ({limits.processes})"
        return None


def _kill(pid: int, group: RunCgroup | None) -> None:
    """The command's process group (bwrap, or the shell in "none" mode), then the cgroups.

    Killing bwrap kills the pid namespace's init (--die-with-parent), and with it everything in
    the namespace; the cgroup kill gets them all at once anyway.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if group is not None:
        group.kill()


async def _watch_disk(folders: Sequence[Path], budget: int) -> bool:
    """True as soon as the folders hold more than `budget` bytes; runs until cancelled.

    False at once when there is nothing to watch. Counting is done in a thread (the walk blocks)
    and never raises: a folder the job removes or makes unreadable midway is counted as found.
    """
    if not folders:
        return False
    await asyncio.sleep(_DISK_START)
    while True:
        began = time.monotonic()
        used = await asyncio.to_thread(_disk_usage, folders)
        if used > budget:
            return True
        await asyncio.sleep(max(_DISK_POLL, (time.monotonic() - began) * _DISK_SHARE))


def _disk_usage(folders: Sequence[Path]) -> int:
    """Bytes allocated under the folders: st_blocks, not st_size (a sparse file of 1 TB takes
    nothing; a folder of many small files takes a block each), symlinks not followed (a link to
    / is a link, not the machine), a file with several hard links counted once.

    os.fwalk enters each folder through a descriptor and checks it is the folder it listed:
    the job may swap a folder for a symlink meanwhile, and the walk must not then wander the
    host's disk."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for folder in folders:
        for _, dirs, files, descriptor in os.fwalk(folder, follow_symlinks=False):
            for name in (*dirs, *files):
                try:
                    info = os.stat(name, dir_fd=descriptor, follow_symlinks=False)
                except OSError:
                    continue
                if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
                    key = (info.st_dev, info.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                total += info.st_blocks * 512
    return total


async def _pump(
    stream: asyncio.StreamReader, on_output: Callable[[bytes], None], scan: _Scan
) -> None:
    while chunk := await stream.read(65536):
        scan.feed(chunk)
        on_output(chunk)


class _Scan:
    """Remembers which of the rlimit markers appeared in the output (across chunk borders)."""

    _markers = (*_FILE_TOO_LARGE, *_OUT_OF_MEMORY, *_CANNOT_FORK)

    def __init__(self) -> None:
        self._tail = b""
        self._seen: set[bytes] = set()

    def feed(self, chunk: bytes) -> None:
        window = self._tail + chunk
        for marker in self._markers:
            if marker not in self._seen and marker in window:
                self._seen.add(marker)
        self._tail = window[-64:]

    def saw(self, markers: Iterable[bytes]) -> bool:
        return any(marker in self._seen for marker in markers)


def _size(value: int) -> str:
    if value % GiB == 0:
        return f"{value // GiB} GiB"
    if value % MiB == 0 or value >= 10 * MiB:
        return f"{round(value / MiB)} MiB"
    return f"{value} bytes"


async def _hand_over(folders: Sequence[Path], uid: int, gid: int) -> None:
    """Make writable mounts the job user's. Only the top folder's owner is checked: a tree is
    walked (once) when it is not the job user's yet, e.g. a fresh checkout made by root."""
    for folder in folders:
        info = os.lstat(folder)
        if (info.st_uid, info.st_gid) != (uid, gid):
            await asyncio.to_thread(_chown_tree, str(folder), uid, gid)


def _chown_tree(top: str, uid: int, gid: int) -> None:
    # fwalk with dir_fd and follow_symlinks=False: a symlink in the tree (say, to /etc/shadow,
    # planted by an earlier job) is chowned itself, never what it points to. Files with more
    # than one link are left alone: one could be a hard link to a file outside the tree.
    os.chown(top, uid, gid, follow_symlinks=False)
    for _, dirs, files, dir_fd in os.fwalk(top, follow_symlinks=False):
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
                    continue
                os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
