"""Fixtures of the tests of app/suite/sandbox/: the sandbox (opened once a module), the job
user, a workspace, and a TCP server on the host's loopback."""

from __future__ import annotations

import asyncio
import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.suite.sandbox import Sandbox, open_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return open_sandbox()


@pytest.fixture
def job_uid() -> int:
    return pwd.getpwnam("conveyor-job").pw_uid


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


@pytest.fixture
async def listener() -> Iterator[tuple[int, list[bytes]]]:  # type: ignore[misc]
    """A TCP server in the test process on the host's loopback; records what it receives."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(100))
        writer.write(b"pong\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port, received
