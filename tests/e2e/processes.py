"""Processes a run may have left behind, looked for on the host."""

from __future__ import annotations

import asyncio
import time


async def matching(pattern: str, *options: str) -> bytes:
    """pgrep's answer for processes whose command line holds `pattern`."""
    pgrep = await asyncio.create_subprocess_exec(
        "pgrep", *options, "-f", pattern, stdout=asyncio.subprocess.PIPE
    )
    found, _ = await pgrep.communicate()
    return found


async def until_none_left(pattern: str, timeout: float = 30.0) -> None:
    """Wait until no process's command line holds `pattern` (a run's tree being removed can
    take a moment after its verdict); fail if some still do at the deadline."""
    deadline = time.monotonic() + timeout
    while found := await matching(pattern, "-a"):
        assert time.monotonic() < deadline, f"still running:\n{found.decode()}"
        await asyncio.sleep(0.1)
