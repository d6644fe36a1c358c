"""app/http_limits.py (and the serving of app/http_server.py): the open-files limit raised, and
connections kept under their limit by closing the least recently active idle ones, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from app.http_limits import (
    BUSY,
    MAX_CONNECTIONS,
    MIN_CONNECTIONS,
    ConnectionGuard,
    GuardedSite,
    connection_limit,
    raise_open_files,
)
from app.http_server import guarded_runner

LIMIT = 20
KEEPALIVE = 0.5


def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lower = min(soft, hard, 512)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lower - 1, hard))
    try:
        assert raise_open_files() == (hard, hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_connections_get_half_the_open_files_within_bounds() -> None:
    assert connection_limit(1024) == 512
    assert connection_limit(1200) == 600
    assert connection_limit(20) == MIN_CONNECTIONS
    assert connection_limit(1 << 20) == MAX_CONNECTIONS
    assert connection_limit(resource.RLIM_INFINITY) == MAX_CONNECTIONS


@dataclass
class Served:
    host: str
    port: int
    guard: ConnectionGuard
    release: asyncio.Event
    all_held: asyncio.Event

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    async def get(self, path: str) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://{self.host}:{self.port}{path}") as response,
        ):
            return response.status, await response.text()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    release = asyncio.Event()
    all_held = asyncio.Event()
    held: list[int] = []

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def hold(request: web.Request) -> web.Response:
        held.append(1)
        if len(held) == LIMIT:
            all_held.set()
        await release.wait()
        return web.Response(text="held")

    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/hold", hold)
    guard = ConnectionGuard(LIMIT)
    runner = guarded_runner(app, guard, keepalive_timeout=KEEPALIVE)
    await runner.setup()
    site = GuardedSite(runner, "127.0.0.1", 0, guard)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield Served("127.0.0.1", port, guard, release, all_held)
    release.set()
    await runner.cleanup()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    return await reader.read() == b""


async def test_idle_connections_make_room_for_a_request(served: Served) -> None:
    idle = [await served.connect() for _ in range(LIMIT * 3)]
    status, text = await served.get("/")
    assert (status, text) == (200, "hello")
    assert served.guard.evicted >= LIMIT * 2
    assert served.guard.refused == 0
    # The oldest went first: the first connections were closed by the server, the last kept.
    first_reader, _ = idle[0]
    assert await asyncio.wait_for(closed_by_server(first_reader), 10)
    for _, writer in idle:
        writer.close()


async def test_when_every_connection_is_busy_a_new_one_is_answered_503(served: Served) -> None:
    busy: list[Awaitable[tuple[int, str]]] = []
    for _ in range(LIMIT):
        busy.append(asyncio.ensure_future(served.get("/hold")))
    await asyncio.wait_for(served.all_held.wait(), 10)

    reader, writer = await served.connect()
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), 10) == BUSY
    assert served.guard.refused == 1
    assert served.guard.evicted == 0  # none of the busy ones was cut short
    served.release.set()
    assert [await answer for answer in busy] == [(200, "held")] * LIMIT
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def test_idle_connections_and_unfinished_headers_are_closed_after_the_keepalive(
    served: Served,
) -> None:
    idle_reader, idle = await served.connect()
    slow_reader, slow = await served.connect()
    slow.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and the rest never comes
    # A reused connection too: its timer starts again after each answer.
    used_reader, used = await served.connect()
    used.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await used_reader.readline() == b"HTTP/1.1 200 OK\r\n"
    for reader in (idle_reader, slow_reader, used_reader):
        await asyncio.wait_for(reader.read(), 30)  # until the server closes it
        assert reader.at_eof()
    for writer in (idle, slow, used):
        writer.close()
