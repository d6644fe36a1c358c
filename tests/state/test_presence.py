"""app/state/presence.py: which processes are alive, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.state import State
from app.state.database import open_database
from app.state.presence import Presence, ProcessRecord, host_key, pid_running


@pytest.fixture
def state(database_url: str | None, tmp_path: Path) -> Iterator[State]:
    opened = State.on(open_database(database_url, tmp_path))
    yield opened
    opened.close()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_host_key_names_this_machine_and_its_pid_namespace() -> None:
    key = host_key()
    assert key == host_key()
    assert key.startswith(os.uname().nodename)
    assert "pid:[" in key


def test_pid_running() -> None:
    assert pid_running(os.getpid())
    assert not pid_running(dead_pid())
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not pid_running(zombie.pid)  # exited, not yet waited for
    zombie.wait()


def test_processes_are_alive_until_their_lease_runs_out_or_their_pid_is_gone(state: State) -> None:
    me = Presence(state.processes, "serve", lease=30)
    me.register()
    now = time.time()
    elsewhere_recent = ProcessRecord("far-1", "another-host", 1, "worker", now - 100, now - 5)
    elsewhere_silent = ProcessRecord("far-2", "another-host", 2, "worker", now - 90, now - 31)
    here_dead = ProcessRecord("near-1", me.host, dead_pid(), "web", now - 80, now)
    here_alive = ProcessRecord("near-2", me.host, os.getppid(), "web", now - 70, now)
    my_pid_before = ProcessRecord("near-3", me.host, os.getpid(), "serve", now - 60, now)
    for record in (elsewhere_recent, elsewhere_silent, here_dead, here_alive, my_pid_before):
        state.processes.register(record)
    alive, gone = me.processes()
    assert [r.id for r in alive] == ["far-1", "near-2", me.id]  # oldest first
    assert [r.id for r in gone] == ["far-2", "near-1", "near-3"]
    assert not me.is_leader(alive)
    state.processes.forget("far-1")
    state.processes.forget("near-2")
    assert me.is_leader(me.processes()[0])


async def test_a_process_leaves_on_stop_and_comes_back_if_taken_for_dead(state: State) -> None:
    me = Presence(state.processes, "worker", lease=0.06)
    me.register()
    me.start()
    state.processes.forget(me.id)  # another process took it for dead
    deadline = time.monotonic() + 5
    while me.id not in [r.id for r in state.processes.all()]:
        assert time.monotonic() < deadline, "it did not register again"
        await asyncio.sleep(0.01)
    await me.stop()
    assert state.processes.all() == []


def test_liveness_is_judged_by_the_database_s_clock_not_the_machine_s(
    state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = Presence(state.processes, "worker", lease=30)
    me.register()
    other = Presence(state.processes, "worker", lease=30)
    other.host = "another-host"  # no pid check: only the heartbeat tells
    other.register()
    # This machine's clock runs two minutes ahead: by it, the other looks silent for 120 s.
    ahead = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: ahead)
    assert other.id in [r.id for r in me.processes()[0]]
    assert state.processes.seen(other.id)
    assert abs(state.processes.clock() - (ahead - 120)) < 5


def test_processes_are_recorded_seen_and_forgotten(state: State) -> None:
    record = ProcessRecord("web-1", "host", 42, "web", 1.0, 1.0)
    state.processes.register(record)
    assert state.processes.all() == [record]
    assert state.processes.seen("web-1") is True
    assert state.processes.all()[0].seen_at > 1.0
    state.processes.forget("web-1")
    assert state.processes.all() == []
    assert state.processes.seen("web-1") is False


def test_the_processes_alive_are_those_seen_within_the_lease(state: State) -> None:
    now = state.processes.clock()
    state.processes.register(ProcessRecord("web-1", "host", 42, "web", now, now))
    state.processes.register(ProcessRecord("old-1", "host", 43, "worker", 1.0, 1.0))
    assert [p.id for p in state.processes.alive()] == ["web-1"]
