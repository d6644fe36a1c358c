"""app/suite/process.py: a child process run off the event loop, its output kept, and the whole
of its process group gone when it ends, times out or is cancelled."""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import sys
from pathlib import Path

import pytest

from app.suite.process import run_command
from tests.e2e.processes import until_none_left

ENV = {"PATH": os.environ["PATH"]}


def marker() -> str:
    return f"conveyor-process-test-{secrets.token_hex(4)}"


def sleeper(mark: str) -> str:
    """A process sleeping for long, with `mark` on its command line."""
    return f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(300)' {mark}"


def left_behind(mark: str) -> str:
    """For `sh -c`: a grandchild sleeping in the background, marked, waited on."""
    return f"{sleeper(mark)} & wait"


async def test_output_and_the_return_code() -> None:
    finished = await run_command(
        ["sh", "-c", "echo out; echo err >&2; exit 3"], env=ENV, timeout=60
    )
    assert finished.returncode == 3
    assert finished.output.splitlines() == ["out", "err"]
    assert not finished.timed_out
    assert not finished.cancelled
    assert finished.duration >= 0


async def test_the_environment_and_folder_are_only_what_was_given(tmp_path: Path) -> None:
    finished = await run_command(
        [sys.executable, "-c", "import os; print(sorted(os.environ)); print(os.getcwd())"],
        env={"ONLY": "this"},
        cwd=tmp_path,
    )
    lines = finished.output.splitlines()
    # (The interpreter may add LC_CTYPE of its own.)
    assert set(eval(lines[0])) - {"LC_CTYPE"} == {"ONLY"}  # noqa: S307 - our own output
    assert lines[1] == str(tmp_path)


async def test_the_output_goes_to_the_log_when_given(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"before\n")
    finished = await run_command(["sh", "-c", "echo one; echo two >&2"], env=ENV, log_path=log)
    assert finished.output == ""
    assert log.read_text().splitlines() == ["before", "one", "two"]


async def test_undecodable_output_is_replaced_not_fatal() -> None:
    finished = await run_command(["printf", "a\\377b"], env=ENV)
    assert finished.output == "a\ufffdb"


async def test_stdin_is_empty() -> None:
    finished = await run_command(["cat"], env=ENV, timeout=60)
    assert finished.returncode == 0
    assert finished.output == ""


async def test_a_timeout_kills_the_whole_group() -> None:
    mark = marker()
    finished = await run_command(["sh", "-c", left_behind(mark)], env=ENV, timeout=0.5)
    assert finished.timed_out
    assert not finished.cancelled
    assert finished.returncode == -9
    await until_none_left(mark)


async def test_cancel_kills_the_whole_group() -> None:
    mark = marker()
    cancel = asyncio.Event()
    running = asyncio.create_task(
        run_command(["sh", "-c", left_behind(mark)], env=ENV, timeout=300, cancel=cancel)
    )
    await until_running(mark)
    cancel.set()
    finished = await running
    assert finished.cancelled
    assert not finished.timed_out
    await until_none_left(mark)


async def test_cancelling_the_caller_kills_the_whole_group() -> None:
    mark = marker()
    running = asyncio.create_task(run_command(["sh", "-c", left_behind(mark)], env=ENV))
    await until_running(mark)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await until_none_left(mark)


async def test_what_the_command_leaves_running_goes_when_it_ends() -> None:
    mark = marker()
    # The shell ends at once; its background child (output closed, so not waited for) stays.
    finished = await run_command(
        ["sh", "-c", f"{sleeper(mark)} >/dev/null 2>&1 & echo started"],
        env=ENV,
        timeout=60,
    )
    assert finished.returncode == 0
    assert finished.output == "started\n"
    await until_none_left(mark)


async def test_the_command_dies_with_the_service(tmp_path: Path) -> None:
    """Even a kill -9 of the service takes its commands along (PR_SET_PDEATHSIG)."""
    mark = marker()
    service = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import asyncio, os, sys\n"
        "from app.suite.process import run_command\n"
        f"asyncio.run(run_command(['sh', '-c', {left_behind(mark)!r}], env=dict(os.environ)))\n",
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        await until_running(mark)
    finally:
        service.kill()
        await service.wait()
    await until_none_left(mark)


async def until_running(mark: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _found(mark):
        assert loop.time() < deadline, f"{mark} never started"
        await asyncio.sleep(0.05)


async def _found(mark: str) -> bool:
    pgrep = await asyncio.create_subprocess_exec(
        "pgrep", "-f", mark, stdout=asyncio.subprocess.DEVNULL
    )
    return await pgrep.wait() == 0
