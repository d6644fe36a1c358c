"""The sandbox's values: limits, mounts, the way out, results, and how a mode is set up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cgroups import Cgroups


HOME = "/conveyor/home"  # the job's HOME: a private tmpfs (the caller sets HOME=HOME in env)

MiB = 1024 * 1024
GiB = 1024 * MiB


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


@dataclass(frozen=True)
class SandboxResult:
    returncode: int  # as a shell reports it: 128 + N when killed by signal N
    duration: float
    timed_out: bool
    cancelled: bool
    limit: str | None  # "memory limit (512 MiB)", "process limit (64)", ... or None


class SandboxUnavailable(Exception):
    """No sandbox can be made here; the message says what is missing and how to fix it."""


@dataclass(frozen=True)
class Setup:
    mode: str
    description: str
    bwrap: str = ""
    base_args: tuple[str, ...] = ()  # the filesystem every run shares (/usr, /etc, ...)
    shown: tuple[tuple[str, str], ...] = ()  # (host real path, inside) of base_args' binds
    setpriv: str = ""
    uid: int = -1
    gid: int = -1
    cgroups: Cgroups | None = None
    rlimit_memory: bool = True  # no memory cgroup: RLIMIT_AS
    rlimit_processes: bool = True  # no pids cgroup: RLIMIT_NPROC
    hidden: tuple[str, ...] = ()
    sized_tmpfs: bool = True  # bwrap 0.7+: --size
    disable_userns: bool = True  # bwrap 0.8+: --disable-userns (user-namespace mode)
    seccomp: bytes | None = None  # user_namespace_filter(), loaded by bwrap
    own_network: bool = False  # the child makes the namespace (make_network_namespace)
    own_hosts: bool = False  # HOSTS over /etc/hosts (hosts_replaceable)
