"""app/suite/sandbox/cgroups.py, through real runs: each run in cgroups of its own from its
first process, memory and processes limited there, CPU time counted for the whole tree, and
the cgroups removed afterwards.

"Isolated" needs root (as in CI).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.suite.sandbox import Limits, Mount, Sandbox
from tests.suite.sandbox.helpers import (
    ISOLATED,
    PY,
    MiB,
    marker,
    our_cgroups,
    run,
    sleeps_running,
    survivors,
    until,
)

pytestmark = ISOLATED


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
