"""What confines the job's process before bwrap starts: rlimits, the parent's death signal,
the job's environment past root's programs, the network namespace and its names, and the
seccomp filter that refuses new user namespaces."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import re
import resource
import shlex
import signal
import socket
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence

_PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
# -- the child's set-up between fork and exec -----------------------------------------------------

_libc: ctypes.CDLL | None = None


def libc_handle() -> ctypes.CDLL:
    # Loaded in the parent: dlopen in a forked child of a threaded process can deadlock.
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _prctl() -> Callable[..., int]:
    prctl: Callable[..., int] = libc_handle().prctl
    return prctl


def child_setup(
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
            make_network_namespace(user)

    return setup


def rlimit(which: int, soft: int, hard: int | None = None) -> tuple[int, int, int]:
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
# code there. They reach the job's command, and only it, renamed (see job_environment).
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


def job_environment(env: Mapping[str, str], command: str) -> tuple[dict[str, str], str]:
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


def make_network_namespace(user: bool) -> None:
    """Move the calling process (the child, before it execs bwrap) into a new network namespace
    with `lo` up and the sandbox's addresses on it; raises OSError where it cannot.

    Root (the isolated mode) has the rights to; an ordinary user (`user`) gets them in a user
    namespace made with it, mapping only its own uid and gid. bwrap (not set-uid) loses them at
    exec and makes the job's user namespace inside that one: the job, without capabilities in
    a namespace below the network namespace's owner, cannot change it."""
    libc = libc_handle()
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
def filter_fd(program: bytes | None, name: str = "conveyor-seccomp") -> Iterator[int | None]:
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
