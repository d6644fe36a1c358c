"""Traffic meant to bring the service down, through the real service process: over a thousand idle
connections, unsigned 25 MB bodies, JSON nested 100,000 deep. Each time a real delivery is still
served, memory and the log stay small, and the service keeps running.

(The load benchmark with the same mix, timed: tests/benchmarks/hostile_traffic.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import PASSING, Harness, ServiceProcess, watched

# The database plays no part in the HTTP layer under hostile traffic: SQLite only (the flow on
# PostgreSQL is in test_check_runs, test_recovery, test_reports and test_scale).
DATABASES = ("sqlite",)

# The usual default soft limit, and a hard limit the test can exceed: started under these, the
# service raises its soft limit to 1,200. 1,100 idle connections took all of the 1,024 it had
# before (with the files it has open anyway): the push was lost, the log filled with tracebacks.
OPEN_FILES = ("1024", "1200")
IDLE = 1100
BODY = 25 * 1024 * 1024  # GitHub's largest payload


@pytest.fixture
async def harness(github: LocalGitHub, tmp_path: Path, caches: Path) -> AsyncIterator[Harness]:
    """The service on SQLite, restarted under the open-files limits above."""
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is not installed")
    async with watched(Harness(github, tmp_path, caches=caches)) as world:
        world.service.stop()
        soft, hard = OPEN_FILES
        world.service = ServiceProcess(
            world.env, world.tmp / "service.log", prefix=["prlimit", f"--nofile={soft}:{hard}"]
        )
        await world.service.start()
        yield world


def pid(harness: Harness) -> int:
    assert harness.service.process is not None
    return harness.service.process.pid


def status_field(harness: Harness, name: str) -> int:
    """A figure from /proc/PID/status, in kB (VmRSS, VmHWM)."""
    text = Path(f"/proc/{pid(harness)}/status").read_text()
    match = re.search(rf"^{name}:\s+(\d+) kB$", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


async def open_idle(url: str, count: int) -> list[asyncio.StreamWriter]:
    """`count` connections that send nothing (those the server refuses are left out)."""
    host, port = url.removeprefix("http://").split(":")
    gate = asyncio.Semaphore(100)  # the listen backlog is 128: do not overflow it for nothing

    async def one() -> asyncio.StreamWriter | None:
        async with gate:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
            except (OSError, TimeoutError):
                return None
            return writer

    return [w for w in await asyncio.gather(*(one() for _ in range(count))) if w is not None]


async def test_over_a_thousand_idle_connections_do_not_stop_a_delivery(harness: Harness) -> None:
    limits = Path(f"/proc/{pid(harness)}/limits").read_text()
    # The soft limit was raised to the hard one at start.
    assert re.search(r"^Max open files\s+1200\s+1200\s", limits, re.MULTILINE), limits
    log_before = harness.service.log_path.stat().st_size

    idle = await open_idle(harness.service.url, IDLE)
    try:
        assert len(idle) >= IDLE * 0.9, len(idle)
        sha = harness.commit(PASSING, "while over a thousand connections idle")
        await harness.push("main")
        [push] = [d for d in harness.github.deliveries if d.event == "push"]
        assert push.status == 202, (push.status, push.error, harness.logs()[-3000:])
        await harness.wait_for(sha, lambda runs: len(runs) == 1, timeout=30)
    finally:
        for writer in idle:
            writer.close()

    assert harness.service.process is not None
    assert harness.service.process.poll() is None, "the service exited"
    grown = harness.service.log_path.stat().st_size - log_before
    assert grown < 20_000, harness.service.log()[-3000:]
    assert "Too many open files" not in harness.service.log()


async def send_unsigned(url: str, size: int) -> str:
    """A POST /webhook of `size` bytes without a signature, its body written as the server takes
    it; the status line of the answer (the server may answer before the body is sent)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"X-GitHub-Event: push\r\nX-GitHub-Delivery: big\r\nContent-Length: {size}\r\n\r\n"
    )
    writer.write(head.encode())

    async def body() -> None:
        chunk = b"x" * (256 * 1024)
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()

    sending = asyncio.create_task(body())
    try:
        status = await asyncio.wait_for(reader.readline(), 60)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError):
            await sending
        writer.close()
    return status.decode().strip()


async def test_unsigned_25_mb_bodies_are_refused_without_being_read(harness: Harness) -> None:
    peak_before = status_field(harness, "VmHWM")

    answers = await asyncio.gather(*(send_unsigned(harness.service.url, BODY) for _ in range(12)))

    assert answers == ["HTTP/1.1 401 Unauthorized"] * 12, answers
    # Read whole, they took 12 x 25 MB (78 -> 363 MB); refused from their headers, nothing.
    grown_mb = (status_field(harness, "VmHWM") - peak_before) / 1024
    assert grown_mb < 60, f"the service's peak memory grew by {grown_mb:.0f} MB"
    # And a real delivery is served.
    sha = harness.commit(PASSING, "after the big bodies")
    await harness.push("main")
    await harness.wait_for(sha, lambda runs: len(runs) == 1, timeout=30)


async def test_signed_json_nested_100000_deep_is_400(harness: Harness) -> None:
    body = b"[" * 100_000 + b"]" * 100_000

    delivery = await harness.github.send_webhook(
        harness.app, "push", {"installation": {"id": harness.installation_id}}, raw_body=body
    )

    assert delivery.status == 400, (delivery.status, harness.service.log()[-3000:])
    assert "Traceback" not in harness.service.log()
    assert "RecursionError" not in harness.service.log()
    sha = harness.commit(PASSING, "after the deep JSON")
    await harness.push("main")
    await harness.wait_for(sha, lambda runs: len(runs) == 1, timeout=30)
