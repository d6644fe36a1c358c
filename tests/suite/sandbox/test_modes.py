"""app/suite/sandbox/modes.py: the mode chosen at start (`open_sandbox`): "isolated" for root,
none without bubblewrap unless plainly allowed, and "user-namespace" run for real as `nobody`
through a small helper under Debian's python (the package imported by path, standard library
only).
"""

from __future__ import annotations

import asyncio
import json
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import app.suite.sandbox as sandbox_module
from app.suite.sandbox import Limits, Mount, Sandbox, SandboxUnavailable, open_sandbox
from tests.suite.sandbox.helpers import (
    ISOLATED,
    LOCALHOST_PROBE,
    MiB,
    assert_localhost_works_with_no_way_out,
    marker,
    run,
    survivors,
)

pytestmark = ISOLATED


def test_root_gets_the_isolated_sandbox_with_cgroups(sandbox: Sandbox) -> None:
    assert sandbox.mode == "isolated"
    assert "bubblewrap" in sandbox.description
    assert "conveyor-job" in sandbox.description
    assert "memory" in sandbox.description
    assert "pids" in sandbox.description


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
