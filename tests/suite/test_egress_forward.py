"""app/suite/egress_forward.py, run as the sandbox runs it (`python egress_forward.py PORT
SOCKET`): 127.0.0.1:PORT joined to a unix socket, ready when the command returns, holding none of
its caller's output open."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import app.suite.egress_forward as forward_module
from tests.e2e.processes import matching, until_none_left

FORWARDER = forward_module.__file__


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "egress.sock"


@pytest.fixture
async def upstream(socket_path: Path) -> AsyncIterator[list[bytes]]:
    """A unix socket server standing in for the egress proxy: it answers `echo: ` and what it
    got, once the client has sent everything (half-closed)."""
    received: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()
        received.append(data)
        writer.write(b"echo: " + data)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_unix_server(echo, path=str(socket_path))
    async with server:
        yield received


@pytest.fixture
def started(socket_path: Path) -> Iterator[int]:
    """The forwarder started; its port. Its serving child is killed afterwards."""
    port = free_port()
    done = subprocess.run(
        [sys.executable, FORWARDER, str(port), str(socket_path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    try:
        # It returned with the port open, leaving nothing on the pipes it was given (EOF came).
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
        yield port
    finally:
        for pid in asyncio.run(matching(str(socket_path))).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        asyncio.run(until_none_left(str(socket_path)))


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_the_port_is_joined_to_the_socket_both_ways(
    upstream: list[bytes], started: int
) -> None:
    assert await exchange(started, b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n") == (
        b"echo: CONNECT pypi.org:443 HTTP/1.1\r\n\r\n"
    )
    assert upstream == [b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n"]


async def test_connections_at_once_each_get_their_own_answer(
    upstream: list[bytes], started: int
) -> None:
    big = os.urandom(1024 * 1024)  # more than one read's worth
    answers = await asyncio.gather(*(exchange(started, b"%d:" % n + big) for n in range(8)))
    assert answers == [b"echo: %d:" % n + big for n in range(8)]


async def test_without_the_socket_a_connection_is_closed_not_hung(started: int) -> None:
    # No upstream: each connection ends at once, and the forwarder goes on serving.
    for _ in range(2):
        reader, writer = await asyncio.open_connection("127.0.0.1", started)
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()


def test_a_bad_command_line_fails(socket_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, FORWARDER, "not-a-port", str(socket_path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert b"ValueError" in done.stderr
