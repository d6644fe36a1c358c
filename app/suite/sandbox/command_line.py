"""The bwrap command line: the filesystem every run shares, the run's mounts (hidden paths
covered), the way out, and the drop to the job user."""

from __future__ import annotations

import glob
import os
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.suite.pythons import Interpreter

from .confinement import HOSTNAME
from .values import EGRESS_FOLDER, EGRESS_FORWARDER, HOME, Egress, Limits, MiB, Mount, Setup

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


def bwrap_argv(
    setup: Setup,
    command: str,
    mounts: Sequence[Mount],
    cwd: str,
    limits: Limits,
    interpreters: Sequence[Interpreter],
    seccomp: int | None,
    hosts: int | None,
) -> tuple[list[str], str]:
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
        if any(is_under(real, source) for source, _ in setup.shown) or real == "/":
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
    # (see run()). Made by the child before bwrap where it can be (make_network_namespace), with the
    # sandbox's addresses; bwrap's has `lo` alone.
    argv += [] if setup.own_network else ["--unshare-net"]
    if seccomp is not None:
        argv += ["--seccomp", str(seccomp)]
    if setup.mode == "isolated":
        argv += ["--", *drop_to(setup), "/bin/sh", "-c", command]
    else:
        argv += ["--unshare-user", "--cap-drop", "ALL"]
        # No user namespaces inside: they are how most kernel privilege bugs are reached.
        argv += ["--disable-userns"] if setup.disable_userns else []
        argv += ["--", "/bin/sh", "-c", command]
    return argv, "/"


def through_egress(egress: Egress, command: str) -> str:
    """`command`, once the forwarder to the egress proxy listens inside the sandbox."""
    socket_path = f"{EGRESS_FOLDER}/{egress.socket.name}"
    words = (egress.python, EGRESS_FORWARDER, str(egress.port), socket_path)
    forward = " ".join(shlex.quote(word) for word in words)
    failed = "echo 'conveyor: the way to the network did not start' >&2; exit 125"
    return f"{forward} || {{ {failed}; }}\nexec /bin/sh -c {shlex.quote(command)}"


def drop_to(setup: Setup) -> list[str]:
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


def is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _covers(hidden: Sequence[str], source: str, inside: str) -> list[str]:
    """bwrap arguments that cover the hidden paths under a bound host folder."""
    args: list[str] = []
    for path in hidden:
        if not is_under(path, source):
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


def check_mounts(mounts: Sequence[Mount], cwd: str) -> None:
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
            if other.writable and mine != theirs and is_under(mine, theirs):
                raise ValueError(
                    f"{mount.host} is inside the writable mount {other.host}: "
                    "the job could swap it for a symlink"
                )


def host_cwd(mounts: Sequence[Mount], cwd: str) -> str:
    """In "none" mode there are no mounts: a cwd inside one is the host folder it shows."""
    for mount in sorted(mounts, key=lambda m: len(m.inside), reverse=True):
        if is_under(cwd, mount.inside):
            return str(mount.host) + cwd[len(mount.inside) :]
    return cwd


def base_filesystem(hidden: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
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
