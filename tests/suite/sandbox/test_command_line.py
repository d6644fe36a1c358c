"""app/suite/sandbox/command_line.py, through real runs: the filesystem bwrap builds (the host
read-only, the service's keys and data hidden, only the chosen interpreters shown, a private home
and /tmp), the mounts checked first, the drop to the job user, and the one way out (the egress
proxy).

Every attack is expected to fail, and each test asserts that it did. "Isolated" needs root (as
in CI).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import textwrap
from pathlib import Path

import pytest

from app.suite.egress import PORT, PROXY_VARIABLES, EgressPolicy, EgressProxy
from app.suite.pythons import choose, discover
from app.suite.sandbox import Egress, Mount, Sandbox, open_sandbox
from tests.suite.sandbox.helpers import ENV, ISOLATED, PY, run

pytestmark = ISOLATED


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


async def test_processes_of_the_host_are_invisible(sandbox: Sandbox) -> None:
    ran = await run(sandbox, "ls /proc | grep -E '^[0-9]+$'; hostname")
    *pids, hostname = ran.output.split()
    assert str(os.getpid()) not in pids
    assert len(pids) <= 4  # bwrap's init, the shell, ls, grep
    assert hostname == "conveyor"


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


async def test_the_home_and_tmp_are_private_and_writable(sandbox: Sandbox, job_uid: int) -> None:
    script = "echo a > $HOME/f && echo b > /tmp/f && echo c > /dev/shm/f && cat $HOME/f /tmp/f"
    first = await run(sandbox, script + "; ls -A /tmp")
    assert first.output.split() == ["a", "b", "f"]
    again = await run(sandbox, "ls -A /tmp $HOME /dev/shm")
    assert "f" not in again.output.split()  # a fresh one each run


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
