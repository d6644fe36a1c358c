"""app/suite/sandbox/ with real bubblewrap, real cgroups and real attacks (no mocks).

Every attack is expected to fail, and each test asserts that it did: reading the service's key,
seeing its data folder or another workspace, writing to the host, reaching the network in the
test phase, escaping the memory, process, CPU-time and file-size limits, and outliving the run.
"Isolated" needs root (as in CI); "user-namespace" is run for real as `nobody` through a small
helper under Debian's python.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import app.suite.sandbox as sandbox_module
import app.suite.sandbox.supervise as supervise_module
from app.suite.egress import PORT, PROXY_VARIABLES, EgressPolicy, EgressProxy
from app.suite.pythons import Interpreter, choose, discover
from app.suite.sandbox import (
    HOME,
    Egress,
    Limits,
    Mount,
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
    open_sandbox,
    user_namespace_filter,
)

pytestmark = pytest.mark.skipif(
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


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return open_sandbox()


@pytest.fixture
def job_uid() -> int:
    return pwd.getpwnam("conveyor-job").pw_uid


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


# -- who the job is --------------------------------------------------------------------------


def test_root_gets_the_isolated_sandbox_with_cgroups(sandbox: Sandbox) -> None:
    assert sandbox.mode == "isolated"
    assert "bubblewrap" in sandbox.description
    assert "conveyor-job" in sandbox.description
    assert "memory" in sandbox.description
    assert "pids" in sandbox.description


async def test_the_job_is_an_unprivileged_user_without_capabilities(
    sandbox: Sandbox, job_uid: int
) -> None:
    ran = await run(sandbox, "id -u; id -G; grep -E '^(Cap|NoNewPrivs)' /proc/self/status")
    lines = ran.output.splitlines()
    assert lines[0] == str(job_uid) != "0"
    assert "0" not in lines[1].split()  # not in group root either
    status = dict(line.split(":\t") for line in lines[2:])
    assert {status[name] for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {
        "0000000000000000"
    }
    assert status["NoNewPrivs"] == "1"


async def test_the_host_is_read_only(sandbox: Sandbox) -> None:
    name = f"conveyor-sandbox-{secrets.token_hex(4)}"
    attempts = [
        f"touch /usr/{name}",
        f"touch /etc/{name}",
        f"touch /{name}",
        "mount -o remount,rw /",
        "mount -o remount,rw /usr",
        "umount /etc",
    ]
    script = "".join(f"if {a} 2>/dev/null; then echo 'DID: {a}'; fi\n" for a in attempts)
    ran = await run(sandbox, script + "mount -o remount,rw / 2>&1; echo end")
    assert "DID:" not in ran.output
    assert "must be superuser" in ran.output
    assert not Path(f"/usr/{name}").exists()
    assert not Path(f"/etc/{name}").exists()


async def test_a_setuid_root_program_runs_without_root(
    sandbox: Sandbox, tmp_path: Path, job_uid: int
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    shutil.copy("/usr/bin/id", tools / "id-setuid")
    os.chown(tools / "id-setuid", 0, 0)
    (tools / "id-setuid").chmod(0o4755)
    ran = await run(sandbox, "/conveyor/tools/id-setuid", mounts=[Mount(tools, "/conveyor/tools")])
    assert ran.result.returncode == 0, ran.output
    assert f"uid={job_uid}(" in ran.output
    assert "euid=0" not in ran.output


async def test_the_job_s_loader_variables_reach_its_command_and_nothing_before_it(
    sandbox: Sandbox,
) -> None:
    # bwrap and setpriv run as root before the job's user is set: an LD_PRELOAD of the job's
    # would run its code there. LD_DEBUG shows which programs the loader read it for.
    env = {**ENV, "LD_DEBUG": "files", "TMPDIR": "/tmp/mine", "LD_LIBRARY_PATH": "/x y"}
    ran = await run(
        sandbox,
        'echo "sees $LD_DEBUG|$TMPDIR|$LD_LIBRARY_PATH|${CONVEYOR_RESTORE_LD_DEBUG-}"',
        env=env,
    )
    assert ran.result.returncode == 0, ran.output
    loaded_for = {
        line.split("needed by ")[1].split()[0]
        for line in ran.output.splitlines()
        if "needed by" in line
    }
    assert loaded_for, ran.output  # the job's own programs got it
    assert not loaded_for & {"/usr/bin/bwrap", "/usr/bin/setpriv"}, loaded_for
    assert "sees files|/tmp/mine|/x y|\n" in ran.output


NAMESPACE_ATTEMPTS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
for name, call in [
    ("unshare", lambda: libc.unshare(CLONE_NEWUSER)),
    ("clone", lambda: libc.syscall(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)),
    ("clone3", lambda: libc.syscall(435, 0, 0)),
]:
    result = call()
    if result == 0:
        os._exit(0)  # the child of a clone that worked: only the parent speaks
    print(name, result, os.strerror(ctypes.get_errno()) if result < 0 else "worked")
"""


async def test_the_job_cannot_create_user_namespaces(sandbox: Sandbox) -> None:
    ran = await run(
        sandbox, f"unshare --user --map-root-user id -u; {PY} -c '{NAMESPACE_ATTEMPTS}'"
    )
    assert "unshare failed: Operation not permitted" in ran.output
    assert "unshare -1 Operation not permitted" in ran.output
    assert "clone -1 Operation not permitted" in ran.output
    assert "clone3 -1 Function not implemented" in ran.output  # libc then falls back to clone
    assert "no seccomp filter" not in sandbox.description


async def test_threads_forks_and_subprocesses_still_work(sandbox: Sandbox) -> None:
    code = (
        "import subprocess, threading\n"
        "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
        "print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout)\n"
    )
    ran = await run(sandbox, f'{PY} -c "{code}" && {{ echo forked & wait; }}')
    assert ran.result.returncode == 0, ran.output
    assert ran.output.split() == ["thread", "child", "forked"]


def test_the_user_namespace_filter_is_made_for_the_machine_s_architectures() -> None:
    for machine in ("x86_64", "aarch64"):
        program = user_namespace_filter(machine)
        assert program is not None
        assert len(program) % 8 == 0  # whole struct sock_filter instructions
        assert len(program) // 8 < 32
    assert user_namespace_filter("riscv64") is None  # unknown: the sandbox says it has none


async def test_processes_of_the_host_are_invisible(sandbox: Sandbox) -> None:
    ran = await run(sandbox, "ls /proc | grep -E '^[0-9]+$'; hostname")
    *pids, hostname = ran.output.split()
    assert str(os.getpid()) not in pids
    assert len(pids) <= 4  # bwrap's init, the shell, ls, grep
    assert hostname == "conveyor"


# -- what the job can see ----------------------------------------------------------------------


async def test_keys_the_data_folder_and_other_workspaces_stay_out_of_reach(
    tmp_path: Path, job_uid: int
) -> None:
    token = secrets.token_hex(8)  # in every secret's name and content: find and grep for it
    key = f"-----BEGIN PRIVATE KEY-----\nconveyor-secret-{token}\n-----END PRIVATE KEY-----\n"

    def private(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
        os.chown(path, 0, 0)
        path.chmod(0o600)
        return path

    # The service's data folder: its database, its key, the workspaces of all jobs.
    data = tmp_path / "data"
    private(data / "keys" / f"app-{token}.pem")
    private(data / f"conveyor-{token}.sqlite3")
    mine = data / "workspaces" / "mine"
    mine.mkdir(parents=True)
    private(data / "workspaces" / "other" / f"secret-{token}.txt")
    # A folder the job is shown read-only, with a hidden key folder and file inside, and one
    # key that is visible but root's own (0600).
    shared = tmp_path / "shared"
    private(shared / "keys" / f"app-{token}.pem")
    private(shared / f"hidden-{token}.pem")
    private(shared / f"visible-{token}.pem")
    (shared / "readme.txt").write_text("shared\n")
    sandbox = open_sandbox(hidden=[data, shared / "keys", shared / f"hidden-{token}.pem"])

    script = f"""
        for path in {data} {data}/keys {data}/workspaces/other {tmp_path} /root/.ssh /home \\
                /var /srv /conveyor/shared/keys/app-{token}.pem; do
            if [ -e "$path" ]; then echo "VISIBLE $path"; fi
        done
        echo "shown:" $(ls -A /conveyor)
        echo "keys folder:" $(ls -A /conveyor/shared/keys)
        cat /conveyor/shared/hidden-{token}.pem
        cat /conveyor/shared/readme.txt
        cat /conveyor/shared/visible-{token}.pem
        cat /etc/shadow
        find / -path /proc -prune -o -name '*{token}*' -print 2>/dev/null
        touch /conveyor/src/mine && echo "workspace writable"
        touch /conveyor/shared/x 2>/dev/null || echo "shared read-only"
    """
    ran = await run(
        sandbox,
        textwrap.dedent(script),
        mounts=[Mount(mine, "/conveyor/src", writable=True), Mount(shared, "/conveyor/shared")],
    )
    out = ran.output
    assert "VISIBLE" not in out
    assert f"conveyor-secret-{token}" not in out
    assert "shown: home shared src\n" in out
    assert "keys folder:\n" in out  # covered by an empty tmpfs
    assert "shared\n" in out  # the rest of the shared folder is there
    assert f"visible-{token}.pem: Permission denied" in out  # visible, but root's
    assert "/etc/shadow: Permission denied" in out
    # All that find finds: the visible key and the cover of the hidden file (/dev/null).
    found = sorted(line for line in out.splitlines() if line.startswith("/"))
    assert found == [
        f"/conveyor/shared/hidden-{token}.pem",
        f"/conveyor/shared/visible-{token}.pem",
    ]
    assert "workspace writable" in out
    assert "shared read-only" in out
    # The writable mount was handed to the job user; the read-only one was left alone.
    assert (mine / "mine").stat().st_uid == job_uid
    assert (shared / f"visible-{token}.pem").stat().st_uid == 0


async def test_only_the_chosen_interpreters_and_usr_are_shown(sandbox: Sandbox) -> None:
    interpreters = discover()
    pyenv = [i for i in interpreters if not i.root.is_relative_to("/usr")]
    if not pyenv:
        pytest.skip("no interpreter outside /usr here")
    chosen = pyenv[-1]
    ran = await run(
        sandbox,
        f"{chosen.executable} -c 'import sys; print(sys.version.split()[0], sys.prefix)'; "
        f"ls -A {chosen.root.parent}; ls -A /",
        interpreters=[chosen],
    )
    lines = ran.output.splitlines()
    assert lines[0] == f"{chosen.version} {chosen.root}"
    assert lines[1] == chosen.root.name  # the other versions beside it are not there
    assert set(lines[2:]) <= {"bin", "conveyor", "dev", "etc", "lib", "lib32", "lib64"} | {
        "libx32",
        "proc",
        "root",
        "sbin",
        "tmp",
        "usr",
    }


# -- the network -------------------------------------------------------------------------------


@pytest.fixture
async def listener() -> Iterator[tuple[int, list[bytes]]]:  # type: ignore[misc]
    """A TCP server in the test process on the host's loopback; records what it receives."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(100))
        writer.write(b"pong\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port, received


def network_probe(port: int) -> str:
    return textwrap.dedent(
        f"""
        {PY} - <<'EOF'
        import socket
        names = [line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]]
        print("interfaces:", " ".join(names))
        try:
            with socket.create_connection(("127.0.0.1", {port}), timeout=3) as connection:
                connection.sendall(b"ping")
                print("connected:", connection.recv(10).decode().strip())
        except OSError as error:
            print("connect failed:", error)
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("resolved")
        except OSError as error:
            print("dns failed:", error)
        EOF
        """
    )


async def test_no_network_in_the_test_phase(
    sandbox: Sandbox, listener: tuple[int, list[bytes]]
) -> None:
    port, received = listener
    ran = await run(sandbox, network_probe(port), network=False)
    assert "interfaces: lo\n" in ran.output
    assert "connect failed:" in ran.output
    assert "connected:" not in ran.output
    assert "dns failed:" in ran.output
    assert "resolved" not in ran.output
    assert received == []


async def test_the_network_on_is_a_namespace_of_its_own_without_an_egress(
    sandbox: Sandbox, listener: tuple[int, list[bytes]]
) -> None:
    port, received = listener
    ran = await run(sandbox, network_probe(port), network=True)
    assert "interfaces: lo\n" in ran.output
    assert "connect failed:" in ran.output  # the host's loopback is not the sandbox's
    assert received == []


ABSTRACT_PROBE = f"""{PY} - <<'END'
import socket
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
    try:
        probe.connect("\\0NAME")
        print("abstract: connected")
    except OSError as error:
        print("abstract: refused", error)
END
"""


async def test_the_host_s_abstract_sockets_are_out_of_reach_with_the_network_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    name = f"conveyor-test-{secrets.token_hex(6)}"
    probe = ABSTRACT_PROBE.replace("NAME", name)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as host_side:
        host_side.bind("\0" + name)
        host_side.listen()
        ran = await run(sandbox, probe, network=False)
        assert "abstract: refused" in ran.output, ran.output
        async with EgressProxy(tmp_path / "egress", EgressPolicy(), lambda line: None) as proxy:
            ran = await run(
                sandbox, probe, network=True, egress=Egress(proxy.socket_path, PORT, PY)
            )
        assert "abstract: refused" in ran.output, ran.output


PROXY_PROBE = f"""{PY} - <<'END'
import os, urllib.request
for url in os.environ["URLS"].split():
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            print(url, "->", response.status, response.read().decode().strip())
    except Exception as error:
        print(url, "->", error)
END
"""


async def test_the_network_on_goes_out_through_the_egress_proxy_alone(
    sandbox: Sandbox, tmp_path: Path, listener: tuple[int, list[bytes]]
) -> None:
    """The host's loopback stands in for the operator's package index (the one place the
    policy lets a run reach there): through the proxy it answers, directly it does not; the
    host's other ports, link-local and private addresses are refused by the proxy."""
    port, received = listener
    http = await asyncio.start_server(_http_hello, "127.0.0.1", 0)
    index = f"http://127.0.0.1:{http.sockets[0].getsockname()[1]}/simple/"
    refused: list[str] = []
    policy = EgressPolicy(allowed=frozenset({("127.0.0.1", http.sockets[0].getsockname()[1])}))
    urls = [
        index,
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        f"http://127.0.0.1:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
    ]
    env = {**ENV, **PROXY_VARIABLES, "URLS": " ".join(urls)}
    async with http, EgressProxy(tmp_path / "egress", policy, refused.append) as proxy:
        egress = Egress(proxy.socket_path, PORT, PY)
        direct = await run(sandbox, PROXY_PROBE, env=env, network=True, egress=egress)
        assert f"{index} -> <urlopen error" in direct.output  # NO_PROXY: the sandbox's own
        env["NO_PROXY"] = env["no_proxy"] = ""
        refused.clear()
        proxy.take_reached()
        ran = await run(sandbox, PROXY_PROBE, env=env, network=True, egress=egress)
        reached = proxy.take_reached()
    lines = ran.output.splitlines()
    assert f"{index} -> 200 hello" in lines, ran.output
    for refused_url in urls[1:]:
        assert f"{refused_url} -> HTTP Error 403: Forbidden" in lines, ran.output
    assert reached == {index.split("/")[2]: 1}
    assert received == []
    assert any("link-local" in line for line in refused), refused
    assert any("a private network" in line for line in refused), refused
    assert sum("this machine's loopback" in line for line in refused) == 2, refused


async def _http_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n")
    await writer.drain()
    writer.close()


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


@pytest.mark.parametrize("phase", ["tests", "install"])
async def test_localhost_and_the_sandbox_s_own_name_work_in_both_families_with_no_way_out(
    sandbox: Sandbox, tmp_path: Path, phase: str
) -> None:
    """What a networking library's suite expects of any machine, and nothing more: `localhost`
    is 127.0.0.1 and ::1, getaddrinfo with AI_ADDRCONFIG finds both families (glibc counts
    addresses other than 127.0.0.1 and ::1 only), the hostname resolves to an address servers
    can listen on; the namespace has `lo` alone and no route beyond it."""
    if phase == "tests":
        ran = await run(sandbox, LOCALHOST_PROBE, network=False)
    else:
        async with EgressProxy(tmp_path / "egress", EgressPolicy(), lambda line: None) as proxy:
            egress = Egress(proxy.socket_path, PORT, PY)
            ran = await run(sandbox, LOCALHOST_PROBE, network=True, egress=egress)
    assert_localhost_works_with_no_way_out(ran.output)


def test_the_sandbox_s_own_names_are_not_sent_to_the_egress_proxy() -> None:
    own = {"localhost", sandbox_module.HOSTNAME, "127.0.0.1", "::1", *sandbox_module.HOST_ADDRESSES}
    for name in ("NO_PROXY", "no_proxy"):
        assert set(PROXY_VARIABLES[name].split(",")) == own


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


# -- limits ------------------------------------------------------------------------------------


async def test_memory_over_the_limit_is_killed_and_reported(sandbox: Sandbox) -> None:
    ran = await run(
        sandbox,
        f'{PY} -c \'data = b"x" * (2 * 1024**3); print("allocated")\'',
        limits=Limits(memory_bytes=256 * MiB),
    )
    assert "allocated" not in ran.output
    assert ran.result.returncode == 137
    assert ran.result.limit == "memory limit (256 MiB)"
    assert not ran.result.timed_out  # the limit ended it, not the run's timeout


async def test_a_fork_bomb_is_contained_and_reported(sandbox: Sandbox) -> None:
    mark = marker()
    # Bounded, in case containment failed: it stops at 10000 processes.
    bomb = f"i=0; while [ $i -lt 10000 ]; do sleep {mark} & i=$((i+1)); done; echo forked $i"
    ran = await run(sandbox, bomb, limits=Limits(processes=64))
    assert "Cannot fork" in ran.output
    assert "forked 10000" not in ran.output
    assert ran.result.returncode != 0
    assert ran.result.limit == "process limit (64)"
    assert survivors(mark) == []
    assert our_cgroups() == []


async def test_cpu_time_is_limited_per_process(sandbox: Sandbox) -> None:
    ran = await run(sandbox, f"{PY} -c 'while True: pass'", limits=Limits(cpu_seconds=1))
    assert ran.result.limit == "CPU time limit (1 s)"
    # SIGXCPU from RLIMIT_CPU, or SIGKILL from the whole tree's watch, whichever is first.
    assert ran.result.returncode in (128 + 24, 128 + 9)
    assert not ran.result.timed_out  # the limit ended it, not the run's timeout


async def test_cpu_time_is_limited_for_the_whole_tree(sandbox: Sandbox) -> None:
    # Four busy processes: each alone stays under RLIMIT_CPU's 3 s for a while, but together
    # they pass 3 CPU-seconds well before that; the cgroup's accounting stops them.
    spin = f"{PY} -c 'while True: pass'"
    ran = await run(
        sandbox, f"{spin} & {spin} & {spin} & {spin} & wait", limits=Limits(cpu_seconds=3)
    )
    assert ran.result.limit == "CPU time limit (3 s)"
    assert not ran.result.timed_out
    # Killed by the tree's watch (SIGKILL to the whole cgroup), not each by its own RLIMIT_CPU
    # (SIGXCPU, after which the shell's `wait` would return 0): a fact, whatever the load.
    assert ran.result.returncode == 128 + 9, ran.output


async def test_a_file_over_the_size_limit_is_stopped(sandbox: Sandbox) -> None:
    ten_mib = Limits(file_size_bytes=10 * MiB)
    ran = await run(sandbox, "head -c 50000000 /dev/zero > /tmp/big", limits=ten_mib)
    assert ran.result.returncode == 128 + 25  # SIGXFSZ
    assert ran.result.limit == "file size limit (10 MiB)"
    # Python ignores SIGXFSZ: the write fails with EFBIG, and the run still says why.
    write = f'{PY} -c \'open("/tmp/big", "wb").write(bytes(50_000_000))\''
    ran = await run(sandbox, write, limits=ten_mib)
    assert "File too large" in ran.output
    assert ran.result.limit == "file size limit (10 MiB)"


async def test_filling_the_disk_is_stopped_and_reported(sandbox: Sandbox, workspace: Path) -> None:
    """The writable mounts have no quota on the host: a run that writes past its disk budget
    (1 MiB files, one after another) is killed by the watch and told why."""
    mounts = [Mount(workspace, "/conveyor/src", writable=True)]
    # At most 1 GiB (if the watch failed), at most ~100 MiB/s: the machine stays fine either way.
    fill = (
        "i=0; while [ $i -lt 1024 ]; do head -c 1048576 /dev/urandom > f$i || exit 1; "
        "i=$((i+1)); sleep 0.01; done; echo filled"
    )
    ran = await run(
        sandbox,
        fill,
        mounts=mounts,
        cwd="/conveyor/src",
        limits=Limits(disk_bytes=20 * MiB),
    )
    assert ran.result.limit == "disk limit (20 MiB)"
    assert ran.result.returncode == 128 + 9  # SIGKILL
    assert "filled" not in ran.output
    written = sum(path.stat().st_size for path in workspace.iterdir())
    assert 20 * MiB < written < 400 * MiB
    assert not ran.result.timed_out  # the watch ended it, not the run's timeout
    assert our_cgroups() == []


async def test_the_disk_count_follows_no_links_and_counts_hard_links_once(
    sandbox: Sandbox, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(os.urandom(8 * MiB))
    counted = counting_disk_usage(monkeypatch, workspace)
    # Links to / and to a big file outside, a hard link and a sparse file: 2 MiB in all.
    ran = await run(
        sandbox,
        # The link to `outside` dangles in the sandbox; on the host, where the count is made,
        # it points to 8 MiB. The command ends once the watch has counted all of it.
        f"head -c 2097152 /dev/urandom > a; ln a b; ln -s / root; ln -s {outside} big; "
        "truncate -s 1G sparse; touch ready; while [ ! -e counted ]; do sleep 0.05; done; "
        "echo done",
        mounts=[Mount(workspace, "/conveyor/src", writable=True)],
        cwd="/conveyor/src",
        limits=Limits(disk_bytes=4 * MiB),
    )
    assert ran.output == "done\n"
    assert ran.result.limit is None  # the watch counted, and found the budget kept
    assert counted
    assert 2 * MiB <= counted[-1] < 3 * MiB


def counting_disk_usage(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> list[int]:
    """The disk watch's counts of `workspace`, in order; once one is made after the command
    wrote the file `ready` there, the file `counted` appears beside it, for the command to wait
    on."""
    counted: list[int] = []
    count = supervise_module._disk_usage

    def counting(folders: Sequence[Path]) -> int:
        assert tuple(folders) == (workspace,)
        ready = (workspace / "ready").exists()
        used = count(folders)
        counted.append(used)
        if ready:
            (workspace / "counted").touch()
        return used

    monkeypatch.setattr(supervise_module, "_disk_usage", counting)
    return counted


async def test_the_disk_watch_costs_short_runs_nothing(
    sandbox: Sandbox, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first count waits for _DISK_START (most commands are over by then); after that the
    watch counts the writable mounts while the command runs."""
    counted = counting_disk_usage(monkeypatch, workspace)
    mounts = [Mount(workspace, "/conveyor/src", writable=True)]
    with monkeypatch.context() as later:
        later.setattr(supervise_module, "_DISK_START", 3600.0)
        ran = await run(sandbox, "touch ready", mounts=mounts, cwd="/conveyor/src")
    assert ran.result.returncode == 0
    assert counted == []  # nothing counted before the start
    (workspace / "ready").unlink()
    waiting = "touch ready; while [ ! -e counted ]; do sleep 0.05; done"
    ran = await run(sandbox, waiting, mounts=mounts, cwd="/conveyor/src")
    assert ran.result.returncode == 0
    assert counted


async def test_open_files_and_core_dumps_are_limited(sandbox: Sandbox) -> None:
    ran = await run(sandbox, "ulimit -n; ulimit -c", limits=Limits(open_files=123))
    assert ran.output.split() == ["123", "0"]


async def test_a_normal_run_reports_no_limit(sandbox: Sandbox) -> None:
    ran = await run(sandbox, "echo fine; exit 3")
    assert ran.result == SandboxResult(3, ran.result.duration, False, False, None)
    assert ran.output == "fine\n"


async def test_the_whole_job_runs_inside_its_own_cgroups(sandbox: Sandbox, workspace: Path) -> None:
    mark = marker()
    # The job runs until the test has looked (the file `seen` appears in its workspace).
    job = asyncio.ensure_future(
        run(
            sandbox,
            f"sleep {mark} & sleep {mark} & while [ ! -e seen ]; do sleep 0.05; done",
            mounts=[Mount(workspace, "/conveyor/src", writable=True)],
            cwd="/conveyor/src",
        )
    )
    await until(lambda: sleeps_running(mark) == 2)
    folders = our_cgroups()
    members = {
        int(pid) for folder in folders for pid in (folder / "cgroup.procs").read_text().split()
    }
    sleeping = {int(line.split()[0]) for line in survivors(mark)}
    (workspace / "seen").touch()
    ran = await job
    assert not ran.result.timed_out
    assert {folder.parent.parent.name for folder in folders} >= {"memory", "pids"}
    assert sleeping
    assert sleeping <= members  # every process of the job, bwrap's included, from the start
    memory = next(f for f in folders if f.parent.parent.name == "memory")
    assert memory.name == f"{os.getpid()}-{memory.name.split('-')[1]}"
    assert our_cgroups() == []


async def test_runs_at_the_same_time_stay_apart(sandbox: Sandbox, tmp_path: Path) -> None:
    folders = [tmp_path / f"w{n}" for n in range(3)]
    for folder in folders:
        folder.mkdir()
    ran = await asyncio.gather(
        *(
            run(
                sandbox,
                f"echo {n} > mine; sleep 0.2; ls /conveyor; cat mine",
                mounts=[Mount(folder, "/conveyor/src", writable=True)],
                cwd="/conveyor/src",
            )
            for n, folder in enumerate(folders)
        )
    )
    assert [r.output.split() for r in ran] == [["home", "src", str(n)] for n in range(3)]
    assert our_cgroups() == []


# -- ending the run ----------------------------------------------------------------------------


async def test_a_timeout_kills_the_whole_tree(sandbox: Sandbox) -> None:
    mark = marker()
    ran = await run(sandbox, f"sleep {mark} & sleep {mark}; echo slept", timeout=1)
    assert ran.result.timed_out
    assert not ran.result.cancelled
    assert ran.result.limit is None
    assert "slept" not in ran.output  # the sleeps (1000 s) were killed, not waited for
    assert survivors(mark) == []
    assert our_cgroups() == []


async def test_cancel_kills_the_whole_tree(sandbox: Sandbox) -> None:
    mark = marker()
    cancel = asyncio.Event()
    job = asyncio.ensure_future(
        run(sandbox, f"sleep {mark} & sleep {mark}; echo slept", cancel=cancel, timeout=30)
    )
    await until(lambda: sleeps_running(mark) == 2)  # both sleeps are running
    cancel.set()
    ran = await job
    assert ran.result.cancelled
    assert not ran.result.timed_out  # ended by the cancel, not by the timeout 30 s later
    assert "slept" not in ran.output
    assert survivors(mark) == []


async def test_processes_left_running_after_the_command_are_killed(sandbox: Sandbox) -> None:
    mark = marker()
    # A daemon in a session of its own, a nohup'ed one, and a plain background process.
    script = (
        f"setsid sleep {mark} & nohup sleep {mark} >/dev/null 2>&1 & "
        f"(sleep {mark} &); sleep 0.2; echo started"
    )
    ran = await run(sandbox, script)
    assert ran.result.returncode == 0
    assert "started" in ran.output
    assert not ran.result.timed_out  # not waited for: the sleeps take 1000 s, the timeout 30
    assert survivors(mark) == []
    assert our_cgroups() == []


async def test_cancelling_the_caller_cleans_up_too(sandbox: Sandbox) -> None:
    mark = marker()
    task = asyncio.ensure_future(run(sandbox, f"sleep {mark}", timeout=30))
    await until(lambda: survivors(mark) != [])  # the command is running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The shielded clean-up finishes on its own, after the caller has gone.
    await until(lambda: survivors(mark) == [] and our_cgroups() == [])


# -- output and environment -----------------------------------------------------------------------


async def test_output_streams_in_order_as_it_comes(sandbox: Sandbox) -> None:
    ran = await run(sandbox, "echo one; echo two >&2; echo three; sleep 0.5; echo four >&2")
    assert ran.output == "one\ntwo\nthree\nfour\n"
    first, last = ran.chunks[0][0], ran.chunks[-1][0]
    assert last - first > 0.3  # "one" arrived before the command ended


async def test_the_environment_is_only_what_was_passed(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_SERVICE_SECRET", "must-not-leak")
    env = {"PATH": "/usr/bin:/bin", "HOME": HOME, "ONLY": "this"}
    ran = await run(sandbox, "env", env=env)
    seen = dict(line.split("=", 1) for line in ran.output.splitlines())
    assert seen.pop("PWD") == HOME  # the shell's own
    assert seen == env
    assert "must-not-leak" not in ran.output


async def test_the_home_and_tmp_are_private_and_writable(sandbox: Sandbox, job_uid: int) -> None:
    script = "echo a > $HOME/f && echo b > /tmp/f && echo c > /dev/shm/f && cat $HOME/f /tmp/f"
    first = await run(sandbox, script + "; ls -A /tmp")
    assert first.output.split() == ["a", "b", "f"]
    again = await run(sandbox, "ls -A /tmp $HOME /dev/shm")
    assert "f" not in again.output.split()  # a fresh one each run


# -- a project's environment ---------------------------------------------------------------------


async def test_a_venv_built_in_the_sandbox_runs_from_a_read_only_mount(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    interpreters = discover()
    python = choose(interpreters, "3.12")
    if python is None:
        pytest.skip("no Python 3.12 on this machine")
    env_folder = tmp_path / "env"
    env_folder.mkdir()
    built = await run(
        sandbox,
        f"{python.executable} -m venv /conveyor/env/venv && echo built",
        mounts=[Mount(env_folder, "/conveyor/env", writable=True)],
        network=True,
        interpreters=interpreters,
        timeout=60,
    )
    assert built.result.returncode == 0, built.output
    venv_python = "/conveyor/env/venv/bin/python"
    used = await run(
        sandbox,
        f"{venv_python} -c 'import sys; print(sys.version); print(sys.prefix)'; "
        f"{venv_python} -m pip --version; touch /conveyor/env/venv/x || echo read-only",
        mounts=[Mount(env_folder, "/conveyor/env", writable=False)],
        interpreters=interpreters,
    )
    assert used.result.returncode == 0, used.output
    lines = used.output.splitlines()
    assert lines[0].startswith(python.version + " ")
    assert lines[1] == "/conveyor/env/venv"
    assert "pip" in lines[2]
    assert lines[-1] == "read-only"


# -- open_sandbox and the other modes ----------------------------------------------------------


def test_without_bubblewrap_there_is_no_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without bwrap
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        open_sandbox()


async def test_allow_unsandboxed_runs_plainly_and_says_so(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    plain = open_sandbox(allow_unsandboxed=True)
    assert plain.mode == "none"
    assert "NO SANDBOX" in plain.description
    assert "bubblewrap is not installed" in plain.description
    mark = marker()
    ran = await run(
        plain,
        f"pwd; echo $ONLY; sleep {mark} & echo done",
        mounts=[Mount(workspace, "/conveyor/src", writable=True)],
        cwd="/conveyor/src",
        env={"PATH": "/usr/bin:/bin", "ONLY": "this"},
    )
    assert ran.output.splitlines() == [str(workspace), "this", "done"]
    assert survivors(mark) == []  # its process group is killed afterwards
    ran = await run(plain, f"sleep {mark}", cwd=str(workspace), timeout=0.5)
    assert ran.result.timed_out
    assert survivors(mark) == []
    one_mib = Limits(file_size_bytes=MiB)
    ran = await run(plain, "head -c 5000000 /dev/zero > f", cwd=str(workspace), limits=one_mib)
    assert ran.result.limit == "file size limit (1 MiB)"


def test_mounts_are_checked_before_anything_runs(sandbox: Sandbox, workspace: Path) -> None:
    for inside in ("conveyor/src", "/conveyor/../etc", "/"):
        with pytest.raises(ValueError, match="absolute"):
            asyncio.run(run(sandbox, "true", mounts=[Mount(workspace, inside)]))
    # A folder inside a writable one could be swapped for a symlink to anywhere by the job.
    (workspace / "out").mkdir()
    nested = [Mount(workspace, "/conveyor/src", True), Mount(workspace / "out", "/conveyor/out")]
    with pytest.raises(ValueError, match="inside the writable mount"):
        asyncio.run(run(sandbox, "true", mounts=nested))
    (workspace / "link").symlink_to(workspace / "out")
    with pytest.raises(ValueError, match="symlink"):
        asyncio.run(run(sandbox, "true", mounts=[Mount(workspace / "link", "/x", True)]))


async def test_handing_a_workspace_over_never_follows_links_out_of_it(
    sandbox: Sandbox, tmp_path: Path, workspace: Path, job_uid: int
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("root's\n")
    (workspace / "src").mkdir()
    (workspace / "src" / "module.py").write_text("")
    (workspace / "symlink").symlink_to(outside)
    os.link(outside, workspace / "hardlink")
    ran = await run(
        sandbox,
        "touch src/module.py && echo ok",
        mounts=[Mount(workspace, "/conveyor/src", writable=True)],
        cwd="/conveyor/src",
    )
    assert ran.output == "ok\n"
    assert (workspace / "src" / "module.py").stat().st_uid == job_uid
    assert (workspace / "symlink").lstat().st_uid == job_uid
    assert outside.stat().st_uid == 0  # neither the symlink's target nor the hard link's file


# -- "user-namespace", for real, as nobody ------------------------------------------------------

HELPER = """
import asyncio, importlib.util, json, subprocess, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
import sandbox as sb
shared, hidden, names = sys.argv[2], sys.argv[3], open(sys.argv[4]).read()

async def main():
    sandbox = sb.open_sandbox(hidden=[hidden])
    work = tempfile.mkdtemp()
    mounts = [sb.Mount(work, "/conveyor/src", True), sb.Mount(shared, "/conveyor/shared")]
    answers = {"mode": sandbox.mode, "description": sandbox.description}
    probes = {
        "identity": (
            "id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
            {},
            10,
        ),
        "host": ("touch /usr/x || echo usr-ro; mount -o remount,rw / || echo no-remount; "
                 "echo hi > /conveyor/src/f && cat /conveyor/src/f; ls -A /conveyor/shared; "
                 "cat /conveyor/shared/key.pem; ls -A /tmp; cat /proc/net/dev | wc -l", {}, 10),
        "memory": ("python3 -c 'data = b\\"x\\" * (2 * 1024**3)'", {"memory_bytes": 256 << 20}, 10),
        "fork": ("i=0; while [ $i -lt 10000 ]; do sleep 999.25 & i=$((i+1)); done",
                 {"processes": 64}, 10),
        "file": ("head -c 50000000 /dev/zero > /tmp/big", {"file_size_bytes": 10 << 20}, 10),
        "timeout": ("sleep 999.5 & sleep 999.5; echo slept", {}, 1),
        "names": (names, {}, 10),
    }
    for name, (command, limits, timeout) in probes.items():
        out = []
        result = await sandbox.run(
            command, mounts=mounts, cwd="/conveyor/src", env={"PATH": "/usr/bin:/bin"},
            network=False, limits=sb.Limits(**limits), timeout=timeout, on_output=out.append)
        left = subprocess.run(["pgrep", "-f", "sleep 999"], capture_output=True, text=True)
        answers[name] = {
            "returncode": result.returncode, "timed_out": result.timed_out,
            "limit": result.limit, "duration": result.duration,
            "output": b"".join(out).decode(errors="replace"), "left": left.stdout.split(),
        }
    print(json.dumps(answers))

asyncio.run(main())
"""


@pytest.fixture
def public_folder() -> Iterator[Path]:
    """A folder `nobody` can read (pytest's tmp_path is under root's 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="conveyor-sandbox-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3")
async def test_user_namespace_mode_as_an_unprivileged_user(public_folder: Path) -> None:
    # The helper runs this very package, by path, with Debian's python as nobody: the pyenv
    # python is under root's 0700 home, which is also why the package is stdlib-only.
    package = public_folder / "sandbox"
    shutil.copytree(
        Path(sandbox_module.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    (public_folder / "helper.py").write_text(HELPER)
    (public_folder / "names.sh").write_text(LOCALHOST_PROBE)
    shared = public_folder / "shared"
    (shared / "keys").mkdir(parents=True)
    (shared / "keys" / "hidden.pem").write_text("hidden")
    (shared / "key.pem").write_text("root's own")
    (shared / "key.pem").chmod(0o600)
    (shared / "readme").write_text("")
    for path in (public_folder, shared, shared / "keys", *public_folder.glob("*.*"), package):
        path.chmod(path.stat().st_mode | 0o555 if path.is_dir() else 0o644)
    for path in package.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    nobody = pwd.getpwnam("nobody")
    helper = await asyncio.create_subprocess_exec(
        "setpriv",
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        "/usr/bin/python3",
        str(public_folder / "helper.py"),
        str(public_folder),
        str(shared),
        str(shared / "keys"),
        str(public_folder / "names.sh"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "HOME": "/"},
        cwd="/",
    )
    out, err = await asyncio.wait_for(helper.communicate(), 60)
    assert helper.returncode == 0, err.decode()
    answers = json.loads(out)
    assert answers["mode"] == "user-namespace"
    assert "rlimits" in answers["description"]

    identity = answers["identity"]["output"].split()
    assert identity[0] == str(nobody.pw_uid)
    assert identity[1:] == [
        *("CapEff:", "0" * 16, "CapBnd:", "0" * 16, "NoNewPrivs:", "1"),
        *("Seccomp:", "2"),  # the user-namespace filter, on top of --disable-userns
    ]
    host = answers["host"]["output"]
    assert "usr-ro" in host
    assert "no-remount" in host
    assert "hi\n" in host
    assert "key.pem\nkeys\nreadme\n" in host  # keys/ is there, but empty (hidden)
    assert "key.pem: Permission denied" in host
    assert re.search(r"^3$", host, re.M)  # /proc/net/dev: two header lines and lo

    assert answers["memory"]["limit"] == "memory limit (256 MiB)"
    assert "MemoryError" in answers["memory"]["output"]
    assert answers["fork"]["limit"] == "process limit (64)"
    assert answers["fork"]["left"] == []
    assert answers["file"]["limit"] == "file size limit (10 MiB)"
    assert answers["timeout"]["timed_out"] is True
    assert "slept" not in answers["timeout"]["output"]  # the sleeps (999 s) were killed
    assert answers["timeout"]["left"] == []
    assert_localhost_works_with_no_way_out(answers["names"]["output"])


def test_user_namespace_helper_uses_only_the_standard_library() -> None:
    """The sandbox package must import with nothing of the app (the helper above depends on
    it): by path, as the helper imports it, nothing named `app` is loaded."""
    folder = str(Path(sandbox_module.__file__).parent.parent)
    code = (
        f"import sys; sys.path.insert(0, {folder!r}); import sandbox; "
        "print(sorted(n for n in sys.modules if n.startswith('app')))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
