"""app/suite/sandbox/supervise.py, through real runs: one command run and watched: its output
as it comes, only the environment given, the timeout, the cancel and the caller's cancel
killing the whole tree, nothing left running, the disk watch, and the writable mounts handed
to the job user without following links.

"Isolated" needs root (as in CI).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

import app.suite.sandbox.supervise as supervise_module
from app.suite.sandbox import HOME, Limits, Mount, Sandbox, SandboxResult
from tests.suite.sandbox.helpers import (
    ISOLATED,
    MiB,
    marker,
    our_cgroups,
    run,
    sleeps_running,
    survivors,
    until,
)

pytestmark = ISOLATED


async def test_a_normal_run_reports_no_limit(sandbox: Sandbox) -> None:
    ran = await run(sandbox, "echo fine; exit 3")
    assert ran.result == SandboxResult(3, ran.result.duration, False, False, None)
    assert ran.output == "fine\n"


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
