"""Child processes that never block the event loop and never outlive their job."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str
    duration: float
    timed_out: bool = False
    cancelled: bool = False


async def run_command(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float | None = None,
    log_path: Path | None = None,
    cancel: asyncio.Event | None = None,
) -> Finished:
    """Run `argv` in its own process group; stdout and stderr go together to the log (or memory).

    On timeout or cancel the whole group is killed, so grandchildren (test servers, forks) die too.
    """
    started = time.monotonic()
    log = log_path.open("ab") if log_path else None
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log if log else asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        waiter = asyncio.ensure_future(process.communicate())
        waits: set[asyncio.Future[object]] = {waiter}  # type: ignore[arg-type]
        cancel_wait = asyncio.ensure_future(cancel.wait()) if cancel else None
        if cancel_wait is not None:
            waits.add(cancel_wait)  # type: ignore[arg-type]
        try:
            done, _ = await asyncio.wait(
                waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            # The task itself is cancelled (the service stops, a job is abandoned): the command
            # must not run on unwatched.
            _kill_group(process.pid)
            for wait in waits:
                wait.cancel()
            raise
        timed_out = not done
        cancelled = cancel_wait is not None and cancel_wait in done and waiter not in done
        if timed_out or cancelled:
            _kill_group(process.pid)
        stdout, _ = await waiter
        # Whatever the command left behind (a daemonised server, a sleeping fork) goes too.
        _kill_group(process.pid)
        if cancel_wait is not None:
            cancel_wait.cancel()
    finally:
        if log:
            log.close()
    text = stdout.decode(errors="replace") if stdout else ""
    return Finished(
        returncode=process.returncode if process.returncode is not None else -1,
        output=text,
        duration=time.monotonic() - started,
        timed_out=timed_out,
        cancelled=cancelled,
    )


def _die_with_parent() -> None:
    """In the child: if the service is killed (even with -9), the kernel kills the command too."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
