"""Choosing the mode once at start (`open_sandbox`): what this machine allows, probed."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .cgroups import Cgroups, RunCgroup, find_cgroups
from .command_line import base_filesystem, drop_to, is_under
from .confinement import filter_fd, libc_handle, make_network_namespace, user_namespace_filter
from .supervise import Sandbox
from .values import Limits, SandboxUnavailable, Setup

_PROBE_TIMEOUT = 10.0
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
        Setup(
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
        with filter_fd(program) as fd:
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
    if setpriv is None or not is_under(os.path.realpath(setpriv), "/usr"):
        raise SandboxUnavailable(
            "setpriv (util-linux) is missing from /usr/bin: install it with "
            "`apt-get install util-linux` (it drops the job to its own user inside bubblewrap)"
        )
    setpriv = os.path.realpath(setpriv)
    version, options = _bwrap_features(bwrap)
    account = _job_user(user)
    base, shown = base_filesystem(hidden)
    setup = Setup(
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
    command = [*drop_to(setup), "/usr/bin/cat", "/proc/self/status"]
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
    cgroups, notes = find_cgroups()
    if not cgroups.bases:
        cgroups_used: Cgroups | None = None
    else:
        cgroups_used = cgroups
        # One test run of the per-run set-up, so that a read-only or half-working cgroup
        # hierarchy shows at start, not on the first job.
        try:
            probe = RunCgroup(cgroups, Limits())
            probe.remove_now()
        except OSError as error:
            notes.append(f"cgroups unusable ({error}); rlimits only")
            cgroups_used = None
    limits = cgroups_used.describe() if cgroups_used else "rlimits only"
    description = f"isolated: {version} + user {user} (uid {account.pw_uid}) + {limits}"
    own_network = _can_own_network(notes)
    own_hosts = hosts_replaceable(notes)
    if seccomp is None:
        notes.append("no seccomp filter here: runs can create user namespaces")
    if notes:
        description += " [" + "; ".join(notes) + "]"
    return Sandbox(
        Setup(
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
    """Whether a child can make the runs' network namespace; says why not."""
    libc_handle()
    try:
        subprocess.run(
            ["/bin/true"],
            preexec_fn=lambda: make_network_namespace(user),
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


def hosts_replaceable(notes: list[str]) -> bool:
    """Whether bwrap can put HOSTS over /etc/hosts: it needs a file there to mount on (the
    sandbox's /etc is the host's, read-only), not a link out of /etc."""
    if os.path.isfile("/etc/hosts") and is_under(os.path.realpath("/etc/hosts"), "/etc"):
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
    base, shown = base_filesystem(hidden)
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
    own_hosts = hosts_replaceable(notes)
    description += "".join(f"; {note}" for note in notes)
    if seccomp is None and not disable_userns:
        description += "; runs can create user namespaces (neither seccomp nor bubblewrap 0.8+)"
    return Sandbox(
        Setup(
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
