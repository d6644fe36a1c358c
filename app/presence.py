"""Which Conveyor processes are alive, so that what a dead one left is taken over.

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
from pathlib import Path

from app.store import ProcessRecord, Store

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


class Presence:
    def __init__(self, store: Store, role: str, *, lease: float = LEASE) -> None:
        self.store = store
        self.role = role
        self.lease = lease
        self.host = host_key()
        self.id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._task: asyncio.Task[None] | None = None

    def register(self) -> None:
        now = self.store.clock()
        self.store.register_process(
            ProcessRecord(self.id, self.host, os.getpid(), self.role, now, now)
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="presence")

    async def stop(self) -> None:
        """Leave: a clean stop hands its work back itself, so nothing waits for the lease."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(*self.store.db.write_errors):
            self.store.forget_process(self.id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease / BEATS_PER_LEASE)
            try:
                if not self.store.process_seen(self.id):
                    # Taken for dead (it was paused, or cut off longer than the lease): its
                    # jobs went to others. Come back as a process with nothing running.
                    log.error("this process was taken for dead; registering again")
                    self.register()
            except Exception:
                log.exception("cannot record that this process is alive")

    def processes(self) -> tuple[list[ProcessRecord], list[ProcessRecord]]:
        """(alive, gone), oldest first; this process is always alive."""
        now = self.store.clock()
        alive: list[ProcessRecord] = []
        gone: list[ProcessRecord] = []
        for record in self.store.processes():
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
