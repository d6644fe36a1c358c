"""Run a stranger's command so that it can only touch what it was given.

Three modes, picked once when the service starts (`open_sandbox`):

- "isolated" (the service runs as root): bubblewrap builds the job's root filesystem from nothing
  (a tmpfs with /usr, /etc and the interpreters bound read-only, a private /tmp and HOME, the
  caller's mounts), in new pid, ipc, uts, cgroup and network namespaces. bwrap runs
  as root WITHOUT a user namespace, so it can bind folders the job user could not reach (a pyenv
  under /root), and the command inside is started through `setpriv` as a dedicated unprivileged
  user with no capabilities, an empty bounding set, no_new_privs, and a seccomp filter that
  refuses new user namespaces (`user_namespace_filter`). (bwrap run as plain root
  keeps every capability: the job could remount / read-write. setpriv is what makes it a sandbox.)
  Each run gets fresh cgroups (memory, pids, cpu accounting, and a cgroup2 one to kill the whole
  tree at once), entered by the child before it execs bwrap, so nothing of the job ever runs
  outside them.
- "user-namespace" (not root, but unprivileged user namespaces work): the same filesystem and
  namespaces inside a user namespace with every capability dropped; limits are rlimits only.
- "none" (only with allow_unsandboxed): a plain `/bin/sh -c` in its own process group with
  rlimits. For development machines; the description says so loudly.

The network: every run has a network namespace of its own, with loopback only, so nothing of the
host's network stack (its loopback services, its abstract unix sockets) is in reach. Inside it
looks like a machine with no network rather than a broken one: an /etc/hosts of its own
(`localhost` is 127.0.0.1 and ::1, the hostname `conveyor` is 127.0.1.1 and fdc0:ffee::1), and
those two addresses on `lo` too, so that getaddrinfo's AI_ADDRCONFIG finds both families (see
HOSTS; the child makes the namespace before it execs bwrap); no interface but `lo`, no route
beyond it. A run that
may use the network (`network=True` with an `Egress`) gets one way out: the egress proxy's unix
socket, shown read-only, which a forwarder started before the command (egress_forward.py, run
with the check's own interpreter) turns into 127.0.0.1:3128 for HTTP_PROXY; what the proxy lets
through is egress.py's to decide. In "none" mode there is no namespace: the host's network.

Limits: memory by the memory cgroup (OOM kill; RLIMIT_AS without one), processes by the pids
cgroup (RLIMIT_NPROC without one: counted per user, so all jobs of the job user share it), CPU
time by RLIMIT_CPU per process plus a watch on the whole tree's cgroup accounting (a forking
suite would dodge a per-process limit), file size by RLIMIT_FSIZE, open files by RLIMIT_NOFILE,
no core dumps, and the disk space of the writable mounts by a watch that adds up what they hold
(the host's filesystems have no per-run quota; the tmpfs folders are sized like the memory).
Writable mounts are handed to the job user: chowned (recursively, not following links) when
their top folder is not the job user's yet; files the service adds later as root stay root's.
Return codes read as a shell's: 128 + N when a signal N ended the command.

Standard library only, and no imports from the rest of the app at run time: the tests import
this file by path from Debian's python as an unprivileged user to exercise "user-namespace".
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import glob
import itertools
import os
import platform
import pwd
import re
import resource
import shlex
import shutil
import signal
import socket
import stat
import struct
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.suite.pythons import Interpreter

HOME = "/conveyor/home"  # the job's HOME: a private tmpfs (the caller sets HOME=HOME in env)

MiB = 1024 * 1024
GiB = 1024 * MiB

_PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
# Folders that merged-/usr systems make symlinks into /usr; on older layouts they are real.
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Unreadable to the job user anyway; covered so that not even their size or existence shows, and
# so that "user-namespace" mode (where the job is the service's own user) cannot read them.
_SECRETS = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/ssl/private",
    "/etc/ssh/ssh_host_*key",
)
_CGROUP_NAME = "conveyor"
_CPU_POLL = 0.5  # how often the whole tree's CPU time is compared with the limit
# The disk watch: the first count after _DISK_START (most commands are over by then, and pay
# nothing), then every _DISK_POLL, or less often when counting is slow (a venv of 50,000 files):
# the walk (in a thread, holding the GIL for much of it) takes at most 1/_DISK_SHARE of the time.
_DISK_START = 0.5
_DISK_POLL = 0.5
_DISK_SHARE = 10
_EXIT_POLL = 0.25  # see Sandbox._wait
_DRAIN = 2.0  # output still arriving after the command ended (pipes held by dying processes)
_CLEANUP = 5.0  # killing what is left and removing the cgroups
_PROBE_TIMEOUT = 10.0
# What programs print when an rlimit (not a cgroup) stopped them; only read when the run failed.
_FILE_TOO_LARGE = (b"File too large",)  # strerror(EFBIG): Python ignores SIGXFSZ and raises
_OUT_OF_MEMORY = (b"MemoryError", b"Cannot allocate memory", b"std::bad_alloc")
_CANNOT_FORK = (
    b"Cannot fork",
    b"fork: Resource temporarily unavailable",
    b"fork: retry",
    b"[Errno 11] Resource temporarily unavailable",
)


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 4 * GiB
    cpu_seconds: int = 3600
    processes: int = 512
    file_size_bytes: int = 2 * GiB
    open_files: int = 4096
    # All writable mounts of one run together (allocated blocks: sparse files count as little
    # as they take). Checked every _DISK_POLL or so, so a fast writer may go a little past it.
    disk_bytes: int = 10 * GiB


@dataclass(frozen=True)
class Mount:
    host: Path
    inside: str  # absolute path inside the sandbox, e.g. "/conveyor/src"
    writable: bool = False


@dataclass(frozen=True)
class Egress:
    """The way out for a network-on command: the egress proxy's unix socket (egress.py; its
    folder is shown read-only), the port HTTP_PROXY names inside, and an interpreter the
    sandbox shows, to run the forwarder with."""

    socket: Path
    port: int
    python: str


EGRESS_FOLDER = "/conveyor/egress"
EGRESS_FORWARDER = "/conveyor/egress-forward.py"
_FORWARDER = Path(__file__).resolve().with_name("egress_forward.py")


@dataclass(frozen=True)
class SandboxResult:
    returncode: int  # as a shell reports it: 128 + N when killed by signal N
    duration: float
    timed_out: bool
    cancelled: bool
    limit: str | None  # "memory limit (512 MiB)", "process limit (64)", ... or None


class SandboxUnavailable(Exception):
    """No sandbox can be made here; the message says what is missing and how to fix it."""


# -- cgroups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cgroups:
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


def _find_cgroups() -> tuple[_Cgroups, list[str]]:
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
    found = _Cgroups(memory, memory_v2, pids, pids_v2, cpu, cpu_v2, kill)
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


class _RunCgroup:
    """The cgroups of one run: made before it starts, removed (empty) after it ends."""

    def __init__(self, layout: _Cgroups, limits: Limits) -> None:
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


# -- the child's set-up between fork and exec -----------------------------------------------------

_libc: ctypes.CDLL | None = None


def _libc_handle() -> ctypes.CDLL:
    # Loaded in the parent: dlopen in a forked child of a threaded process can deadlock.
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _prctl() -> Callable[..., int]:
    prctl: Callable[..., int] = _libc_handle().prctl
    return prctl


def _child_setup(
    procs: Sequence[bytes],
    rlimits: Sequence[tuple[int, int, int]],
    own_network: bool = False,
    user: bool = False,
) -> Callable[[], None]:
    """What the child does after fork, before exec (it already has its own session).

    Joining the cgroups here, before bwrap even starts, leaves no moment where a process of the
    job runs outside them; if joining fails, the exec does not happen and run() raises. The same
    for the network namespace (`own_network`; `user`: in a user namespace of its own, the
    user-namespace mode): bwrap then inherits it.
    """
    prctl = _prctl()

    def setup() -> None:
        pid = str(os.getpid()).encode()
        for path in procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        for which, soft, hard in rlimits:
            resource.setrlimit(which, (soft, hard))
        # If the service dies (even by SIGKILL) the sandbox goes with it: bwrap's
        # --die-with-parent then takes the job's pid namespace down.
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if own_network:
            _own_network(user)

    return setup


def _rlimit(which: int, soft: int, hard: int | None = None) -> tuple[int, int, int]:
    """An rlimit no higher than the current hard limit (root here lacks CAP_SYS_RESOURCE)."""
    _, current = resource.getrlimit(which)
    wanted_hard = soft if hard is None else hard
    if current != resource.RLIM_INFINITY:
        wanted_hard = min(wanted_hard, current)
    return (which, min(soft, wanted_hard), wanted_hard)


# -- the network namespace -------------------------------------------------------------------------

# A namespace with nothing but `lo` breaks more than the network: glibc's getaddrinfo with
# AI_ADDRCONFIG (libcurl, libuv, Twisted, many test suites) decides which families are
# "configured" from the addresses of the namespace's interfaces, ignoring exactly 127.0.0.1 and
# ::1 (sysdeps/unix/sysv/linux/check_pf.c). With only those, asking for AF_INET or AF_INET6 alone
# fails with "Name or service not known", even for "localhost". So the sandbox's own name gets an
# address of each family on `lo` as well: both are local to the namespace, which has no other
# interface and no route anywhere (a dummy interface would do the same where the kernel has one;
# this machine's does not). The host's /etc/hosts is replaced by the sandbox's own (below), so
# that localhost is 127.0.0.1 and ::1 and the hostname resolves whatever the host's file says.
# What the dynamic loader and glibc read from the environment of every program they start
# (glibc's "unsecure" variables, ignored only for set-uid programs): bwrap and setpriv run as root
# (or as the service's user) before the job's user is set, so the job's LD_PRELOAD would run its
# code there. They reach the job's command, and only it, renamed (see _job_environment).
_LOADER_VARIABLES = frozenset(
    (
        "GCONV_PATH",
        "GETCONF_DIR",
        "GLIBC_TUNABLES",
        "HOSTALIASES",
        "LOCALDOMAIN",
        "LOCPATH",
        "MALLOC_ARENA_MAX",
        "MALLOC_ARENA_TEST",
        "MALLOC_PERTURB_",
        "MALLOC_TRACE",
        "NIS_PATH",
        "NLSPATH",
        "RESOLV_HOST_CONF",
        "RES_OPTIONS",
        "TMPDIR",
        "TZDIR",
    )
)
_RESTORED = "CONVEYOR_RESTORE_"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _job_environment(env: Mapping[str, str], command: str) -> tuple[dict[str, str], str]:
    """The environment bwrap and setpriv are started with, and the command that gives the job
    its own back: every loader variable (LD_*, _LOADER_VARIABLES) travels renamed to
    CONVEYOR_RESTORE_<name>, harmless to the programs before the job, and the job's shell sets it
    under its own name again. A loader variable whose name a shell cannot set is left out."""
    outside: dict[str, str] = {}
    restore: list[str] = []
    for name, value in env.items():
        if not (name.startswith("LD_") or name in _LOADER_VARIABLES):
            outside[name] = value
        elif _NAME.match(name):
            outside[_RESTORED + name] = value
            restore.append(f'export {name}="${_RESTORED}{name}"; unset {_RESTORED}{name}')
    if not restore:
        return outside, command
    return outside, "\n".join([*restore, f"exec /bin/sh -c {shlex.quote(command)}"])


HOSTNAME = "conveyor"
HOST_ADDRESSES = ("127.0.1.1", "fdc0:ffee::1")  # on `lo`, as /32 and /128
HOSTS = (
    "# The sandbox's own (Conveyor): loopback only, no route out of this namespace.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    + "".join(f"{address}\t{HOSTNAME}\n" for address in HOST_ADDRESSES)
).encode()
_CLONE_NEWNET = 0x40000000
_RTM_NEWLINK, _RTM_NEWADDR, _NLMSG_ERROR = 16, 20, 2
_NLM_F_REQUEST, _NLM_F_ACK, _NLM_F_EXCL, _NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
_IFF_UP = 0x1
_IFA_ADDRESS, _IFA_LOCAL, _IFA_F_NODAD = 1, 2, 0x2
_RT_SCOPE_HOST = 254
_LOOPBACK = 1  # `lo` is interface 1 in every new network namespace


def _own_network(user: bool) -> None:
    """Move the calling process (the child, before it execs bwrap) into a new network namespace
    with `lo` up and the sandbox's addresses on it; raises OSError where it cannot.

    Root (the isolated mode) has the rights to; an ordinary user (`user`) gets them in a user
    namespace made with it, mapping only its own uid and gid. bwrap (not set-uid) loses them at
    exec and makes the job's user namespace inside that one: the job, without capabilities in
    a namespace below the network namespace's owner, cannot change it."""
    libc = _libc_handle()
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(_CLONE_NEWNET | (_CLONE_NEWUSER if user else 0)) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"unshare: {os.strerror(number)}")
    if user:
        _write_proc("setgroups", "deny")  # required before an unprivileged gid_map
        _write_proc("uid_map", f"{uid} {uid} 1")
        _write_proc("gid_map", f"{gid} {gid} 1")
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as route:
        up = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, _LOOPBACK, _IFF_UP, _IFF_UP)
        _netlink(route, _RTM_NEWLINK, 0, up)
        for address in HOST_ADDRESSES:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            packed = socket.inet_pton(family, address)
            body = struct.pack(
                "=BBBBI", family, len(packed) * 8, _IFA_F_NODAD, _RT_SCOPE_HOST, _LOOPBACK
            )
            for kind in (_IFA_LOCAL, _IFA_ADDRESS):
                body += struct.pack("=HH", 4 + len(packed), kind) + packed
            _netlink(route, _RTM_NEWADDR, _NLM_F_CREATE | _NLM_F_EXCL, body)


def _write_proc(name: str, text: str) -> None:
    fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _netlink(route: socket.socket, kind: int, flags: int, body: bytes) -> None:
    """One rtnetlink request, and its acknowledgement (an error is raised as OSError)."""
    header = struct.pack("=IHHII", 16 + len(body), kind, _NLM_F_REQUEST | _NLM_F_ACK | flags, 1, 0)
    route.send(header + body)
    reply = route.recv(65536)
    if len(reply) >= 20 and struct.unpack_from("=H", reply, 4)[0] == _NLMSG_ERROR:
        error = -struct.unpack_from("=i", reply, 16)[0]
        if error:
            raise OSError(error, f"rtnetlink {kind}: {os.strerror(error)}")
        return
    raise OSError(errno.EPROTO, f"rtnetlink {kind}: no acknowledgement")


# -- no user namespaces inside --------------------------------------------------------------------

# Creating a user namespace is how most kernel privilege bugs are reached from an unprivileged
# process. bwrap's --disable-userns needs a user namespace of bwrap's own, which the isolated mode
# does not have, so every mode loads this seccomp filter instead: unshare() and clone() with
# CLONE_NEWUSER fail with EPERM, and clone3() (whose flags a filter cannot read) with ENOSYS, on
# which libc falls back to clone(). Nothing else is filtered. A dozen classic BPF instructions
# written out here keep this module free of libseccomp (see the module docstring).

_CLONE_NEWUSER = 0x10000000
_CLONE3 = 435  # the same number on every architecture
_X32_BIT = 0x40000000
# The machine's architectures, as seccomp names them, with their unshare and clone numbers; the
# second of each pair is the 32-bit ABI the kernel also runs (its syscalls are filtered too).
_ARCHITECTURES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "x86_64": ((0xC000003E, 272, 56), (0x40000003, 310, 120)),
    "aarch64": ((0xC00000B7, 97, 220), (0x40000028, 337, 120)),
}
_LD_W_ABS, _ALU_AND_K, _JEQ_K, _JSET_K, _RET_K = 0x20, 0x54, 0x15, 0x45, 0x06
_ALLOW = 0x7FFF0000
_FAIL = 0x00050000  # SECCOMP_RET_ERRNO | errno


def user_namespace_filter(machine: str | None = None) -> bytes | None:
    """The seccomp program (struct sock_filter[]) for bwrap's --seccomp; None on an
    architecture this does not know (the sandbox then runs without it)."""
    arches = _ARCHITECTURES.get(machine or platform.machine())
    if arches is None:
        return None
    program: list[tuple[int, int, int, int]] = [(_LD_W_ABS, 0, 0, 4)]  # seccomp_data.arch
    for arch, unshare, clone in arches:
        x32 = arch == 0xC000003E  # x32 syscalls run under x86_64's arch with a flag bit
        block = [(_LD_W_ABS, 0, 0, 0)]  # seccomp_data.nr
        block += [(_ALU_AND_K, 0, 0, ~_X32_BIT & 0xFFFFFFFF)] if x32 else []
        block += [
            (_JEQ_K, 0, 1, _CLONE3),
            (_RET_K, 0, 0, _FAIL | errno.ENOSYS),
            (_JEQ_K, 1, 0, unshare),
            (_JEQ_K, 0, 3, clone),
            (_LD_W_ABS, 0, 0, 16),  # the low half of args[0]: the flags (little-endian)
            (_JSET_K, 0, 1, _CLONE_NEWUSER),
            (_RET_K, 0, 0, _FAIL | errno.EPERM),
            (_RET_K, 0, 0, _ALLOW),
        ]
        program.append((_JEQ_K, 0, len(block), arch))
        program += block
    program.append((_RET_K, 0, 0, _ALLOW))
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


@contextlib.contextmanager
def _filter_fd(program: bytes | None, name: str = "conveyor-seccomp") -> Iterator[int | None]:
    """The program (or a file's contents) in a file of its own for one bwrap to read (the read
    moves the offset, so runs at the same time cannot share one)."""
    if program is None:
        yield None
        return
    fd = os.memfd_create(name, 0)
    try:
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
        yield fd
    finally:
        os.close(fd)


# -- the sandbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setup:
    mode: str
    description: str
    bwrap: str = ""
    base_args: tuple[str, ...] = ()  # the filesystem every run shares (/usr, /etc, ...)
    shown: tuple[tuple[str, str], ...] = ()  # (host real path, inside) of base_args' binds
    setpriv: str = ""
    uid: int = -1
    gid: int = -1
    cgroups: _Cgroups | None = None
    rlimit_memory: bool = True  # no memory cgroup: RLIMIT_AS
    rlimit_processes: bool = True  # no pids cgroup: RLIMIT_NPROC
    hidden: tuple[str, ...] = ()
    sized_tmpfs: bool = True  # bwrap 0.7+: --size
    disable_userns: bool = True  # bwrap 0.8+: --disable-userns (user-namespace mode)
    seccomp: bytes | None = None  # user_namespace_filter(), loaded by bwrap
    own_network: bool = False  # the child makes the network namespace (_own_network), not bwrap
    own_hosts: bool = False  # HOSTS over /etc/hosts (_hosts_replaceable)


class Sandbox:
    """Made by open_sandbox(); run() is safe to call concurrently."""

    def __init__(self, setup: _Setup) -> None:
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
        _check_mounts(mounts, cwd)
        if setup.mode == "isolated":
            await _hand_over([m.host for m in mounts if m.writable], setup.uid, setup.gid)
        group = _RunCgroup(setup.cgroups, limits) if setup.cgroups is not None else None
        scan = _Scan()
        try:
            with (
                _filter_fd(setup.seccomp if setup.mode != "none" else None) as seccomp,
                _filter_fd(HOSTS if setup.own_hosts else None, "conveyor-hosts") as hosts,
            ):
                if setup.mode == "none":
                    argv, run_cwd = ["/bin/sh", "-c", command], _host_cwd(mounts, cwd)
                else:
                    env, command = _job_environment(env, command)
                    argv, run_cwd = self._bwrap_argv(
                        _through(egress, command) if egress else command,
                        mounts,
                        cwd,
                        limits,
                        interpreters,
                        seccomp,
                        hosts,
                    )
                writable = [m.host for m in mounts if m.writable]
                return await self._run(
                    argv,
                    run_cwd,
                    env,
                    limits,
                    timeout,
                    on_output,
                    cancel,
                    group,
                    scan,
                    started,
                    writable,
                    tuple(fd for fd in (seccomp, hosts) if fd is not None),
                )
        finally:
            if group is not None:
                # Shielded: a caller cancelling run() must not leave the cgroups behind.
                await asyncio.shield(group.remove())

    async def _run(
        self,
        argv: list[str],
        run_cwd: str,
        env: Mapping[str, str],
        limits: Limits,
        timeout: float,
        on_output: Callable[[bytes], None],
        cancel: asyncio.Event | None,
        group: _RunCgroup | None,
        scan: _Scan,
        started: float,
        writable: Sequence[Path],
        pass_fds: tuple[int, ...],
    ) -> SandboxResult:
        setup = self._setup
        rlimits = [
            _rlimit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
            _rlimit(resource.RLIMIT_FSIZE, limits.file_size_bytes),
            _rlimit(resource.RLIMIT_NOFILE, limits.open_files),
            _rlimit(resource.RLIMIT_CORE, 0),
        ]
        if setup.rlimit_memory:
            rlimits.append(_rlimit(resource.RLIMIT_AS, limits.memory_bytes))
        if setup.rlimit_processes:
            rlimits.append(_rlimit(resource.RLIMIT_NPROC, limits.processes))
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
            cwd=run_cwd,
            start_new_session=True,
            preexec_fn=_child_setup(
                group.procs if group else (),
                rlimits,
                setup.own_network,
                setup.mode == "user-namespace",
            ),
            pass_fds=pass_fds,
        )
        assert process.stdout is not None
        reader = asyncio.ensure_future(_pump(process.stdout, on_output, scan))
        disk = asyncio.ensure_future(_watch_disk(writable, limits.disk_bytes))
        try:
            timed_out, cancelled, over_cpu = await self._wait(
                process, group, limits, started + timeout, cancel, disk
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
            duration=time.monotonic() - started,
            timed_out=timed_out,
            cancelled=cancelled,
            limit=limit,
        )

    async def _wait(
        self,
        process: asyncio.subprocess.Process,
        group: _RunCgroup | None,
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
        group: _RunCgroup | None,
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

    def _bwrap_argv(
        self,
        command: str,
        mounts: Sequence[Mount],
        cwd: str,
        limits: Limits,
        interpreters: Sequence[Interpreter],
        seccomp: int | None,
        hosts: int | None,
    ) -> tuple[list[str], str]:
        setup = self._setup
        size = str(max(limits.memory_bytes, MiB))
        argv = [setup.bwrap, *setup.base_args]
        # The writable tmpfs folders: sticky and world-writable because bwrap makes them as
        # root; sized like the memory limit (where no memory cgroup charges their pages).
        for folder in ("/tmp", "/dev/shm", HOME):  # noqa: S108 (paths inside the sandbox)
            argv += ["--perms", "1777"]
            argv += ["--size", size] if setup.sized_tmpfs else []
            argv += ["--tmpfs", folder]
        covers: list[str] = []
        for source, inside in setup.shown:
            covers += _covers(setup.hidden, source, inside)
        made: set[str] = {"/", "/usr", "/etc", "/tmp", "/conveyor", HOME}  # noqa: S108
        for root in dict.fromkeys(str(i.root) for i in interpreters):
            real = os.path.realpath(root)
            if any(_under(real, source) for source, _ in setup.shown) or real == "/":
                continue  # Debian's python: already there with /usr
            if not os.access(real, os.R_OK | os.X_OK):
                continue  # user-namespace mode: not readable by this user (a pyenv in /root)
            argv += _parents(root, made)
            argv += ["--ro-bind", real, root]
            covers += _covers(setup.hidden, real, root)
        for mount in mounts:
            real = os.path.realpath(mount.host)
            argv += _parents(mount.inside, made)
            argv += ["--bind" if mount.writable else "--ro-bind", real, mount.inside]
            covers += _covers(setup.hidden, real, mount.inside)
        argv += covers
        if hosts is not None:  # see HOSTS
            argv += ["--perms", "0644", "--ro-bind-data", str(hosts), "/etc/hosts"]
        argv += [
            "--remount-ro",
            "/",
            "--chdir",
            cwd,
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--hostname",
            HOSTNAME,
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
        ]
        # Always a namespace of its own: the network, when a run has it, is the egress proxy
        # (see run()). Made by the child before bwrap where it can be (_own_network), with the
        # sandbox's addresses; bwrap's has `lo` alone.
        argv += [] if setup.own_network else ["--unshare-net"]
        if seccomp is not None:
            argv += ["--seccomp", str(seccomp)]
        if setup.mode == "isolated":
            argv += ["--", *_drop_to(setup), "/bin/sh", "-c", command]
        else:
            argv += ["--unshare-user", "--cap-drop", "ALL"]
            # No user namespaces inside: they are how most kernel privilege bugs are reached.
            argv += ["--disable-userns"] if setup.disable_userns else []
            argv += ["--", "/bin/sh", "-c", command]
        return argv, "/"


def _through(egress: Egress, command: str) -> str:
    """`command`, once the forwarder to the egress proxy listens inside the sandbox."""
    socket_path = f"{EGRESS_FOLDER}/{egress.socket.name}"
    words = (egress.python, EGRESS_FORWARDER, str(egress.port), socket_path)
    forward = " ".join(shlex.quote(word) for word in words)
    failed = "echo 'conveyor: the way to the network did not start' >&2; exit 125"
    return f"{forward} || {{ {failed}; }}\nexec /bin/sh -c {shlex.quote(command)}"


def _drop_to(setup: _Setup) -> list[str]:
    """setpriv's arguments: the job user, no groups, no capabilities now or ever, no setuid."""
    return [
        setup.setpriv,
        f"--reuid={setup.uid}",
        f"--regid={setup.gid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]


def _kill(pid: int, group: _RunCgroup | None) -> None:
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


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _covers(hidden: Sequence[str], source: str, inside: str) -> list[str]:
    """bwrap arguments that cover the hidden paths under a bound host folder."""
    args: list[str] = []
    for path in hidden:
        if not _under(path, source):
            continue
        target = inside.rstrip("/") + path[len(source.rstrip("/")) :] if path != source else inside
        if os.path.isdir(path):
            args += ["--tmpfs", target]  # root's, mode 0755: empty and not writable for the job
        elif os.path.lexists(path):
            args += ["--ro-bind", "/dev/null", target]
    return args


def _parents(inside: str, made: set[str]) -> list[str]:
    """--dir for each missing parent of a mount point: bwrap would copy the modes of the host's
    folders (/root is 0700), which would lock the job user out of /root/.pyenv/versions/X."""
    args: list[str] = []
    parts = inside.strip("/").split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/" + "/".join(parts[:depth])
        if folder not in made:
            made.add(folder)
            args += ["--dir", folder]
    return args


def _check_mounts(mounts: Sequence[Mount], cwd: str) -> None:
    if not cwd.startswith("/"):
        raise ValueError(f"cwd must be an absolute path inside the sandbox: {cwd!r}")
    real = {id(mount): os.path.realpath(mount.host) for mount in mounts}
    for mount in mounts:
        inside = mount.inside
        if not inside.startswith("/") or os.path.normpath(inside) != inside or inside == "/":
            raise ValueError(f"a mount needs a normalised absolute path inside: {inside!r}")
        if not os.path.exists(mount.host):
            raise ValueError(f"mount source does not exist: {mount.host}")
        if mount.writable and os.path.islink(mount.host):
            raise ValueError(f"a writable mount must not be a symlink: {mount.host}")
        # A job may replace anything in a folder it can write with a symlink (to /etc, say);
        # a mount taken from inside such a folder would then show, or chown, whatever that
        # symlink points to on the next run.
        for other in mounts:
            mine, theirs = real[id(mount)], real[id(other)]
            if other.writable and mine != theirs and _under(mine, theirs):
                raise ValueError(
                    f"{mount.host} is inside the writable mount {other.host}: "
                    "the job could swap it for a symlink"
                )


def _host_cwd(mounts: Sequence[Mount], cwd: str) -> str:
    """In "none" mode there are no mounts: a cwd inside one is the host folder it shows."""
    for mount in sorted(mounts, key=lambda m: len(m.inside), reverse=True):
        if _under(cwd, mount.inside):
            return str(mount.host) + cwd[len(mount.inside) :]
    return cwd


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


# -- start-up -------------------------------------------------------------------------------------


def open_sandbox(
    *,
    allow_unsandboxed: bool = False,
    user: str = "conveyor-job",
    hidden: Sequence[Path] = (),
) -> Sandbox:
    """Probe once what this machine allows, and return the best sandbox it can make.

    root → "isolated"; not root, with bubblewrap and user namespaces → "user-namespace";
    otherwise "none" if allow_unsandboxed, else SandboxUnavailable. `hidden`: host paths that
    must not be visible even under a shown folder (the data folder, the key's folder).
    """
    hidden_real = tuple(dict.fromkeys(os.path.realpath(path) for path in hidden))
    bwrap = shutil.which("bwrap")
    problem: str
    if bwrap is None:
        problem = (
            "bubblewrap is not installed (no `bwrap` on PATH): install it with "
            "`apt-get install bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`"
        )
    else:
        try:
            if os.geteuid() == 0:
                return _open_isolated(bwrap, user, hidden_real)
            return _open_user_namespace(bwrap, hidden_real)
        except SandboxUnavailable as error:
            problem = str(error)
    if not allow_unsandboxed:
        raise SandboxUnavailable(problem)
    who = pwd.getpwuid(os.geteuid()).pw_name if _has_user(os.geteuid()) else str(os.geteuid())
    return Sandbox(
        _Setup(
            mode="none",
            description=(
                f"none: NO SANDBOX ({problem}); jobs run as {who} with this machine's files, "
                "network and the service's own rights, limited only by rlimits and a process "
                "group (allow_unsandboxed)"
            ),
        )
    )


def _has_user(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _base_filesystem(hidden: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The part of every run's bwrap command line that never changes, and the host folders it
    shows."""
    args = ["--tmpfs", "/", "--ro-bind", "/usr", "/usr"]
    shown = [("/usr", "/usr")]
    for name in _ROOT_LINKS:
        path = "/" + name
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
            shown.append((os.path.realpath(path), path))
    args += ["--ro-bind", "/etc", "/etc"]
    shown.append((os.path.realpath("/etc"), "/etc"))
    for pattern in _SECRETS:
        for secret in sorted(glob.glob(pattern)):
            args += _covers([secret], "/etc", "/etc")
    args += ["--proc", "/proc", "--dev", "/dev"]
    return args, shown


def _probe(argv: list[str], pass_fds: tuple[int, ...] = ()) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv,
            pass_fds=pass_fds,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return -1, str(error)
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def _probe_filtered(front: list[str], command: list[str]) -> tuple[int, str, bytes | None]:
    """`front --seccomp FD -- command`, and the filter when it loaded; where bwrap or the kernel
    cannot load it, the same without it (and None)."""
    program = user_namespace_filter()
    if program is not None:
        with _filter_fd(program) as fd:
            assert fd is not None
            code, out = _probe([*front, "--seccomp", str(fd), "--", *command], (fd,))
        if code == 0 and _status(out).get("Seccomp") == "2":
            return code, out, program
    code, out = _probe([*front, "--", *command])
    return code, out, None


def _status(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def _bwrap_features(bwrap: str) -> tuple[str, set[str]]:
    """bwrap's version line and the options it knows (older releases lack some we use)."""
    code, version = _probe([bwrap, "--version"])
    _, usage = _probe([bwrap, "--help"])
    options = {word for word in usage.split() if word.startswith("--")}
    if "--perms" not in options:
        raise SandboxUnavailable(
            f"{version.strip() or 'bubblewrap'} is too old (0.5 or newer is needed for --perms): "
            "install a newer bubblewrap"
        )
    return (version.strip() if code == 0 else "bubblewrap"), options


def _open_isolated(bwrap: str, user: str, hidden: tuple[str, ...]) -> Sandbox:
    setpriv = shutil.which("setpriv")
    if setpriv is None or not _under(os.path.realpath(setpriv), "/usr"):
        raise SandboxUnavailable(
            "setpriv (util-linux) is missing from /usr/bin: install it with "
            "`apt-get install util-linux` (it drops the job to its own user inside bubblewrap)"
        )
    setpriv = os.path.realpath(setpriv)
    version, options = _bwrap_features(bwrap)
    account = _job_user(user)
    base, shown = _base_filesystem(hidden)
    setup = _Setup(
        mode="isolated",
        description="",
        bwrap=bwrap,
        base_args=tuple(base),
        shown=tuple(shown),
        setpriv=setpriv,
        uid=account.pw_uid,
        gid=account.pw_gid,
        hidden=hidden,
    )
    # The real thing, once: the job must end up with the job user, no capabilities at all and
    # no_new_privs. If not, this is no sandbox, and saying so at start beats finding out later.
    front = [bwrap, *base, "--remount-ro", "/", "--unshare-pid", "--unshare-net"]
    front += ["--die-with-parent"]
    command = [*_drop_to(setup), "/usr/bin/cat", "/proc/self/status"]
    code, out, seccomp = _probe_filtered(front, command)
    status = _status(out)
    uids = status.get("Uid", "").split()
    if code != 0 or set(uids) != {str(account.pw_uid)}:
        raise SandboxUnavailable(f"bubblewrap does not work as root here: {out.strip()[:500]}")
    for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if int(status.get(name, "1"), 16) != 0:
            raise SandboxUnavailable(f"the job kept capabilities ({name} {status.get(name)})")
    if status.get("NoNewPrivs") != "1":
        raise SandboxUnavailable("the job could gain privileges through setuid programs")
    cgroups, notes = _find_cgroups()
    if not cgroups.bases:
        cgroups_used: _Cgroups | None = None
    else:
        cgroups_used = cgroups
        # One test run of the per-run set-up, so that a read-only or half-working cgroup
        # hierarchy shows at start, not on the first job.
        try:
            probe = _RunCgroup(cgroups, Limits())
            probe.remove_now()
        except OSError as error:
            notes.append(f"cgroups unusable ({error}); rlimits only")
            cgroups_used = None
    limits = cgroups_used.describe() if cgroups_used else "rlimits only"
    description = f"isolated: {version} + user {user} (uid {account.pw_uid}) + {limits}"
    own_network = _can_own_network(notes)
    own_hosts = _hosts_replaceable(notes)
    if seccomp is None:
        notes.append("no seccomp filter here: runs can create user namespaces")
    if notes:
        description += " [" + "; ".join(notes) + "]"
    return Sandbox(
        _Setup(
            mode="isolated",
            description=description,
            bwrap=bwrap,
            base_args=tuple(base),
            shown=tuple(shown),
            setpriv=setpriv,
            uid=account.pw_uid,
            gid=account.pw_gid,
            cgroups=cgroups_used,
            rlimit_memory=cgroups_used is None or cgroups_used.memory is None,
            rlimit_processes=cgroups_used is None or cgroups_used.pids is None,
            hidden=hidden,
            sized_tmpfs="--size" in options,
            seccomp=seccomp,
            own_network=own_network,
            own_hosts=own_hosts,
        )
    )


def _can_own_network(notes: list[str], user: bool = False) -> bool:
    """Whether a child can make the runs' network namespace (_own_network); says why not."""
    _libc_handle()
    try:
        subprocess.run(
            ["/bin/true"],
            preexec_fn=lambda: _own_network(user),
            timeout=_PROBE_TIMEOUT,
            check=True,
            cwd="/",
        )
    except (OSError, subprocess.SubprocessError) as error:
        notes.append(
            f"loopback only: no addresses of the sandbox's own ({error}), so getaddrinfo with "
            "AI_ADDRCONFIG finds no IPv4 or IPv6 of a given family"
        )
        return False
    return True


def _hosts_replaceable(notes: list[str]) -> bool:
    """Whether bwrap can put HOSTS over /etc/hosts: it needs a file there to mount on (the
    sandbox's /etc is the host's, read-only), not a link out of /etc."""
    if os.path.isfile("/etc/hosts") and _under(os.path.realpath("/etc/hosts"), "/etc"):
        return True
    notes.append("the host's /etc/hosts is not a file in /etc: the sandbox shows it as it is")
    return False


def _job_user(user: str) -> pwd.struct_passwd:
    """The dedicated user, made once if missing (a system user: no home, no login shell)."""
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        _, out = _probe(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user]
        )
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            raise SandboxUnavailable(
                f"the job user {user!r} does not exist and `useradd` failed ({out.strip()}): "
                f"create it with `useradd --system --no-create-home --shell /usr/sbin/nologin "
                f"{user}`"
            ) from None
    if account.pw_uid == 0 or account.pw_gid == 0:
        raise SandboxUnavailable(f"the job user {user!r} must not be root or in group root")
    return account


def _open_user_namespace(bwrap: str, hidden: tuple[str, ...]) -> Sandbox:
    version, options = _bwrap_features(bwrap)
    disable_userns = "--disable-userns" in options
    base, shown = _base_filesystem(hidden)
    front = [bwrap, *base, "--remount-ro", "/", "--unshare-pid", "--unshare-net"]
    front += ["--unshare-user", "--cap-drop", "ALL", "--die-with-parent"]
    front += ["--disable-userns"] if disable_userns else []
    code, out, seccomp = _probe_filtered(front, ["/usr/bin/cat", "/proc/self/status"])
    status = _status(out)
    if code != 0:
        raise SandboxUnavailable(
            "bubblewrap cannot create a user namespace for this (non-root) user "
            f"({out.strip()[:300]}): allow unprivileged user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; on "
            "Ubuntu 24.04+ kernel.apparmor_restrict_unprivileged_userns=0), or run the service "
            "as root for the isolated sandbox"
        )
    if int(status.get("CapEff", "1"), 16) != 0 or int(status.get("CapBnd", "1"), 16) != 0:
        raise SandboxUnavailable(f"the job kept capabilities (CapEff {status.get('CapEff')})")
    uid = os.geteuid()
    description = (
        f"user-namespace: {version} in an unprivileged user namespace as uid "
        f"{uid}; limits by rlimits only (memory as address space, processes counted for all "
        f"of uid {uid}, CPU time per process)"
    )
    notes: list[str] = []
    own_network = _can_own_network(notes, user=True)
    own_hosts = _hosts_replaceable(notes)
    description += "".join(f"; {note}" for note in notes)
    if seccomp is None and not disable_userns:
        description += "; runs can create user namespaces (neither seccomp nor bubblewrap 0.8+)"
    return Sandbox(
        _Setup(
            mode="user-namespace",
            description=description,
            bwrap=bwrap,
            base_args=tuple(base),
            shown=tuple(shown),
            uid=uid,
            gid=os.getegid(),
            hidden=hidden,
            sized_tmpfs="--size" in options,
            disable_userns=disable_userns,
            seccomp=seccomp,
            own_network=own_network,
            own_hosts=own_hosts,
        )
    )
