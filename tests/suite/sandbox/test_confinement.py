"""app/suite/sandbox/confinement.py, through real runs: what the child sets up before bwrap:
the job's loader variables kept from root's programs, the seccomp filter against new user
namespaces, the network namespace with its names and no way out, and the rlimits.

Every attack is expected to fail, and each test asserts that it did. "Isolated" needs root (as
in CI).
"""

from __future__ import annotations

import secrets
import socket
import textwrap
from pathlib import Path

import pytest

import app.suite.sandbox as sandbox_module
from app.suite.egress import PORT, PROXY_VARIABLES, EgressPolicy, EgressProxy
from app.suite.sandbox import Egress, Limits, Sandbox, user_namespace_filter
from tests.suite.sandbox.helpers import (
    ENV,
    ISOLATED,
    LOCALHOST_PROBE,
    PY,
    MiB,
    assert_localhost_works_with_no_way_out,
    run,
)

pytestmark = ISOLATED


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


async def test_cpu_time_is_limited_per_process(sandbox: Sandbox) -> None:
    ran = await run(sandbox, f"{PY} -c 'while True: pass'", limits=Limits(cpu_seconds=1))
    assert ran.result.limit == "CPU time limit (1 s)"
    # SIGXCPU from RLIMIT_CPU, or SIGKILL from the whole tree's watch, whichever is first.
    assert ran.result.returncode in (128 + 24, 128 + 9)
    assert not ran.result.timed_out  # the limit ended it, not the run's timeout


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


async def test_open_files_and_core_dumps_are_limited(sandbox: Sandbox) -> None:
    ran = await run(sandbox, "ulimit -n; ulimit -c", limits=Limits(open_files=123))
    assert ran.output.split() == ["123", "0"]
