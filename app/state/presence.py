"""Which Conveyor processes are alive (the `processes` table), so that what a dead one left is
taken over.

Every process (web, worker, or both in one) has a row in `processes` and touches it every few
seconds, in the database's time, so machines' clocks need not agree. One not seen for `lease`
seconds is gone: its running jobs and the deliveries it never acted on go to whoever notices
first. On its own machine a process need not wait that long: a
pid that no longer runs there is gone at once, which makes a restart after a crash quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.state.database import Database

log = logging.getLogger(__name__)

LEASE = 30.0  # seconds without a sign of life after which a process is taken for dead
BEATS_PER_LEASE = 6


def host_key() -> str:
    """What makes a pid mean the same process: the machine, its boot and its pid namespace
    (two containers with the same hostname still differ in the last)."""
    parts = [socket.gethostname()]
    for source in (Path("/proc/sys/kernel/random/boot_id"), Path("/proc/self/ns/pid")):
        with contextlib.suppress(OSError):
            parts.append(os.readlink(source) if source.is_symlink() else source.read_text())
    return "/".join(part.strip() for part in parts)


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed child nobody has waited for yet is a zombie: dead for every purpose here.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def no_live_process(column: str, gone: Iterable[str]) -> tuple[str, list[str]]:
    """A WHERE condition and its parameters: the process named in `column` is not a live one.
    It is one of `gone`, one that stopped (its row is gone), or none is recorded. One
    condition, read in one statement: a process that registers meanwhile cannot lose its work."""
    dead = list(gone)
    marks = ",".join("?" * len(dead)) or "NULL"
    return (
        f"({column} IS NULL OR {column} NOT IN (SELECT id FROM processes)"  # noqa: S608
        f" OR {column} IN ({marks}))",
        dead,
    )


@dataclass(frozen=True)
class ProcessRecord:
    id: str
    host: str
    pid: int
    role: str
    started_at: float
    seen_at: float


class Processes:
    """The rows of `processes`, the one table every process writes on its own behalf."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(self, record: ProcessRecord) -> None:
        self.db.execute(
            "INSERT INTO processes (id, host, pid, role, started_at, seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (record.id, record.host, record.pid, record.role, record.started_at, record.seen_at),
        )

    def clock(self) -> float:
        """The database's time: processes on machines whose clocks drift still agree on it."""
        [row] = self.db.execute(f"SELECT {self.db.now} AS now").fetchall()
        return float(row["now"])

    def seen(self, process_id: str) -> bool:
        """False when the row is gone: others took this process for dead."""
        cursor = self.db.execute(
            f"UPDATE processes SET seen_at = {self.db.now} WHERE id = ?",  # noqa: S608
            (process_id,),
        )
        return cursor.rowcount == 1

    def alive(self) -> list[ProcessRecord]:
        """The processes with a sign of life within the lease."""
        now = self.clock()
        return [p for p in self.all() if p.seen_at > now - LEASE]

    def all(self) -> list[ProcessRecord]:
        rows = self.db.execute("SELECT * FROM processes ORDER BY started_at, id")
        return [ProcessRecord(**row) for row in rows]

    def forget(self, process_id: str) -> None:
        self.db.execute("DELETE FROM processes WHERE id = ?", (process_id,))


class Presence:
    def __init__(self, processes: Processes, role: str, *, lease: float = LEASE) -> None:
        self.table = processes
        self.role = role
        self.lease = lease
        self.host = host_key()
        self.id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._task: asyncio.Task[None] | None = None

    def register(self) -> None:
        now = self.table.clock()
        self.table.register(ProcessRecord(self.id, self.host, os.getpid(), self.role, now, now))

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="presence")

    async def stop(self) -> None:
        """Leave: a clean stop hands its work back itself, so nothing waits for the lease."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(*self.table.db.write_errors):
            await self.table.db.run(self.table.forget, self.id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease / BEATS_PER_LEASE)
            try:
                if not await self.table.db.run(self.table.seen, self.id):
                    # Taken for dead (it was paused, or cut off longer than the lease): its
                    # jobs went to others. Come back as a process with nothing running.
                    log.error("this process was taken for dead; registering again")
                    await self.table.db.run(self.register)
            except Exception:
                log.exception("cannot record that this process is alive")

    def processes(self) -> tuple[list[ProcessRecord], list[ProcessRecord]]:
        """(alive, gone), oldest first; this process is always alive."""
        now = self.table.clock()
        alive: list[ProcessRecord] = []
        gone: list[ProcessRecord] = []
        for record in self.table.all():
            here = record.host == self.host
            dead = record.id != self.id and (
                record.seen_at < now - self.lease
                # In a container restarted in place, this process may have the old one's pid.
                or (here and (record.pid == os.getpid() or not pid_running(record.pid)))
            )
            (gone if dead else alive).append(record)
        return alive, gone

    def is_leader(self, alive: list[ProcessRecord]) -> bool:
        """The oldest live process does the work that must be done once (announcing check
        runs GitHub refused, posting verdicts again)."""
        return not alive or alive[0].id == self.id
