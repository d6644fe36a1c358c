"""What the tests of app/suite/sandbox/ share: running a command in a sandbox and keeping its
output, and finding what a run left behind (processes, cgroups)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.suite.pythons import Interpreter
from app.suite.sandbox import HOME, Egress, Limits, Mount, Sandbox, SandboxResult

ISOLATED = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("bwrap") is None,
    reason="the isolated sandbox needs root and bubblewrap (apt-get install bubblewrap)",
)

MiB = 1024 * 1024
ENV = {"PATH": "/usr/bin:/bin", "HOME": HOME, "LANG": "C.UTF-8"}
# Debian's python: inside the sandbox through /usr, like any tool a test suite would call.
PY = "/usr/bin/python3"


@dataclass
class Ran:
    result: SandboxResult
    output: str
    chunks: list[tuple[float, bytes]]


async def run(
    sandbox: Sandbox,
    command: str,
    *,
    mounts: Sequence[Mount] = (),
    cwd: str = HOME,
    env: dict[str, str] | None = None,
    network: bool = False,
    limits: Limits | None = None,
    timeout: float = 30,
    cancel: asyncio.Event | None = None,
    interpreters: Sequence[Interpreter] = (),
    egress: Egress | None = None,
) -> Ran:
    chunks: list[tuple[float, bytes]] = []
    result = await sandbox.run(
        command,
        mounts=mounts,
        cwd=cwd,
        env=ENV if env is None else env,
        network=network,
        limits=limits or Limits(),
        timeout=timeout,
        on_output=lambda chunk: chunks.append((time.monotonic(), chunk)),
        cancel=cancel,
        interpreters=interpreters,
        egress=egress,
    )
    output = b"".join(chunk for _, chunk in chunks).decode(errors="replace")
    return Ran(result, output, chunks)


def marker() -> str:
    """A `sleep` argument no other process on the machine has: pgrep -f finds only ours."""
    return f"1000.{secrets.randbelow(10**9):09d}"


def survivors(mark: str) -> list[str]:
    found = subprocess.run(["/usr/bin/pgrep", "-a", "-f", mark], capture_output=True, text=True)
    return found.stdout.splitlines()


async def until(happened: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for an event the test can see (a process there or gone); a deadline, not a pause."""
    deadline = time.monotonic() + timeout
    while not happened():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.05)


def sleeps_running(mark: str) -> int:
    """How many `sleep {mark}` run (the shell and bwrap, whose arguments hold it, not counted)."""
    return sum(1 for line in survivors(mark) if line.split()[1:] == ["sleep", mark])


def our_cgroups() -> list[Path]:
    """This test process's per-run cgroups that were not removed."""
    pattern = f"{os.getpid()}-*"
    return [
        path
        for base in Path("/sys/fs/cgroup").glob("*/conveyor")
        for path in base.glob(pattern)
        if path.is_dir()
    ]


LOCALHOST_PROBE = f"""{PY} - <<'END'
import json, socket
found = {{}}
for name, family in (("any", 0), ("inet", socket.AF_INET), ("inet6", socket.AF_INET6)):
    try:
        answers = socket.getaddrinfo("localhost", 80, family, flags=socket.AI_ADDRCONFIG)
        found[name] = sorted({{address[4][0] for address in answers}})
    except OSError as error:
        found[name] = str(error)
def round_trip(host, family):
    try:
        with socket.create_server((host, 0), family=family) as server:
            port = server.getsockname()[1]
            with socket.create_connection((host, port), timeout=5) as client:
                peer, _ = server.accept()
                client.sendall(b"ping")
                return [client.getpeername()[0], peer.recv(4).decode()]
    except OSError as error:
        return str(error)
found["ipv6 server"] = round_trip("localhost", socket.AF_INET6)
try:
    own = socket.gethostbyname(socket.gethostname())
    found["own name"] = [socket.gethostname(), own, round_trip(own, socket.AF_INET)]
except OSError as error:
    found["own name"] = str(error)
found["interfaces"] = [line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]]
found["routes"] = sorted(
    {{line.split()[0] for line in open("/proc/net/route").readlines()[1:]}}
    | {{line.split()[-1] for line in open("/proc/net/ipv6_route")}}
)
for name, address in (("out4", ("198.51.100.1", 80)), ("out6", ("2001:db8::1", 80))):
    try:
        socket.create_connection(address, timeout=5).close()
        found[name] = "connected"
    except OSError as error:
        found[name] = error.errno
print(json.dumps(found))
END
"""


def assert_localhost_works_with_no_way_out(output: str) -> None:
    found = json.loads(output.splitlines()[-1])
    assert found["any"] == ["127.0.0.1", "::1"], output
    assert found["inet"] == ["127.0.0.1"], output
    assert found["inet6"] == ["::1"], output
    assert found["ipv6 server"] == ["::1", "ping"], output
    assert found["own name"] == ["conveyor", "127.0.1.1", ["127.0.1.1", "ping"]], output
    assert found["interfaces"] == ["lo"], output
    assert found["routes"] == ["lo"], output
    assert found["out4"] == found["out6"] == errno.ENETUNREACH, output
