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
this package by path from Debian's python as an unprivileged user to exercise "user-namespace".

One module a job: `values` (limits, mounts, results, a mode's set-up), `cgroups`, `confinement`
(what the child sets up before bwrap: rlimits, the network namespace, the seccomp filter),
`command_line` (bwrap's arguments), `supervise` (running one command and watching it), `modes`
(choosing the mode at start).
"""

from __future__ import annotations

from .confinement import HOST_ADDRESSES, HOSTNAME, HOSTS, user_namespace_filter
from .modes import open_sandbox
from .supervise import Sandbox
from .values import (
    EGRESS_FOLDER,
    EGRESS_FORWARDER,
    HOME,
    Egress,
    GiB,
    Limits,
    MiB,
    Mount,
    SandboxResult,
    SandboxUnavailable,
)

__all__ = [
    "EGRESS_FOLDER",
    "EGRESS_FORWARDER",
    "HOME",
    "HOSTNAME",
    "HOSTS",
    "HOST_ADDRESSES",
    "Egress",
    "GiB",
    "Limits",
    "MiB",
    "Mount",
    "Sandbox",
    "SandboxResult",
    "SandboxUnavailable",
    "open_sandbox",
    "user_namespace_filter",
]
