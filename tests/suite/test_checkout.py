"""Mirrors: every git step ends by its deadline or cancel, and the mirror's lock is waited for
only until the waiter's own deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.suite.checkout import (
    CheckoutError,
    CheckoutTimeout,
    Deadline,
    Mirrors,
    parse_changed_lines,
)


@dataclass(frozen=True)
class Silent:
    url: str
    connected: asyncio.Event  # a client sent something
    gone: asyncio.Event  # a client went away (git killed)


@pytest.fixture
async def silent_server() -> AsyncIterator[Silent]:
    """An HTTP server that accepts connections, reads, and never answers."""
    connected, gone = asyncio.Event(), asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            connected.set()
            pass
        gone.set()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield Silent(f"http://127.0.0.1:{port}/octo/repo.git", connected, gone)


def _repository(tmp_path: Path) -> tuple[str, str]:
    """A local repository with one commit: its URL and the commit."""
    source = tmp_path / "source"
    subprocess.run(["git", "init", "-q", "-b", "main", str(source)], check=True)
    (source / "a.txt").write_text("a\n")
    for args in (
        ["add", "a.txt"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "one"],
    ):
        subprocess.run(["git", "-C", str(source), *args], check=True)
    sha = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return f"file://{source}", sha


async def test_a_fetch_from_a_silent_server_is_killed_at_the_deadline(
    tmp_path: Path, silent_server: Silent
) -> None:
    mirrors = Mirrors(tmp_path / "mirrors")

    with pytest.raises(CheckoutTimeout) as raised:
        await mirrors.checkout(
            key="1",
            clone_url=silent_server.url,
            token="secret-token",
            ref="refs/heads/main",
            sha="a" * 40,
            workspace=tmp_path / "ws",
            deadline=Deadline.after(1.5),
        )

    assert raised.value.conclusion == "timed_out"
    assert raised.value.title.startswith("Could not fetch the commit: timed out after ")
    assert "git fetch" in str(raised.value)
    assert "JOB_TIMEOUT" in str(raised.value)
    assert "secret-token" not in str(raised.value)
    # The remote helper that held the connection was killed with git: the server sees it go.
    await asyncio.wait_for(silent_server.gone.wait(), 10)
    # And the lock was let go: the next checkout of the repository gets the mirror at once.
    real_url, sha = _repository(tmp_path)
    await mirrors.checkout(
        key="1",
        clone_url=real_url,
        token=None,
        ref="refs/heads/main",
        sha=sha,
        workspace=tmp_path / "ws",
        deadline=Deadline.after(30),
    )
    assert (tmp_path / "ws" / "a.txt").read_text() == "a\n"


async def test_a_cancel_stops_a_hanging_fetch(tmp_path: Path, silent_server: Silent) -> None:
    cancel = asyncio.Event()
    checkout = asyncio.create_task(
        Mirrors(tmp_path / "mirrors").checkout(
            key="1",
            clone_url=silent_server.url,
            token=None,
            ref="refs/heads/main",
            sha="a" * 40,
            workspace=tmp_path / "ws",
            deadline=Deadline.after(600, cancel),
        )
    )
    await silent_server.connected.wait()
    cancel.set()

    with pytest.raises(CheckoutError) as raised:
        await asyncio.wait_for(checkout, 10)
    assert not isinstance(raised.value, CheckoutTimeout)
    assert "cancelled" in str(raised.value)
    await asyncio.wait_for(silent_server.gone.wait(), 10)


async def test_a_waiter_for_the_mirror_gives_up_at_its_own_deadline(tmp_path: Path) -> None:
    mirrors = Mirrors(tmp_path / "mirrors")
    url, sha = _repository(tmp_path)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with mirrors._lock("1", None):
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    try:
        with pytest.raises(CheckoutTimeout) as raised:
            await mirrors.checkout(
                key="1",
                clone_url=url,
                token=None,
                ref="refs/heads/main",
                sha=sha,
                workspace=tmp_path / "ws",
                deadline=Deadline.after(0.5),
            )
        assert "still fetching into its mirror" in str(raised.value)
        # Trust and the pull request's diff degrade rather than fail: no branch, no lines.
        found = await mirrors.branch_holding(
            key="1", clone_url=url, token=None, sha=sha, deadline=Deadline.after(0.5)
        )
        assert found is None
    finally:
        release.set()
        await holder
    # Once it is let go, the same checkout works.
    await mirrors.checkout(
        key="1",
        clone_url=url,
        token=None,
        ref="refs/heads/main",
        sha=sha,
        workspace=tmp_path / "ws",
        deadline=Deadline.after(30),
    )


async def test_the_lock_of_another_process_is_waited_for_until_the_deadline(
    tmp_path: Path,
) -> None:
    """flock held by another process (a web and a worker sharing the data folder)."""
    root = tmp_path / "mirrors"
    root.mkdir()
    (root / "1.lock").touch()
    holder = await asyncio.create_subprocess_exec(
        "flock",
        str(root / "1.lock"),
        "sh",
        "-c",
        "echo held; sleep 60",
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        assert await holder.stdout.readline() == b"held\n"
        with pytest.raises(CheckoutTimeout):
            async with Mirrors(root)._lock("1", Deadline.after(0.5).at):
                pass
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # flock and the sleep it holds the lock for
        await holder.wait()


async def test_no_git_step_starts_after_the_deadline(tmp_path: Path) -> None:
    url, sha = _repository(tmp_path)
    with pytest.raises(CheckoutTimeout):
        await Mirrors(tmp_path / "mirrors").checkout(
            key="1",
            clone_url=url,
            token=None,
            ref="refs/heads/main",
            sha=sha,
            workspace=tmp_path / "ws",
            deadline=Deadline.after(-1),
        )


def test_changed_lines_of_a_diff() -> None:
    diff = "+++ b/src/a.py\n@@ -1,0 +2,3 @@\n+x\n+++ /dev/null\n@@ -1 +0,0 @@\n"
    assert parse_changed_lines(diff) == {"src/a.py": frozenset({2, 3, 4})}
