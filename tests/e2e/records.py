"""The service's own records, waited for: work that leaves nothing at GitHub still ends in a row
of its database, and a test waits for that row instead of sleeping."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable

from app.state.database import open_database
from tests.e2e.harness import Harness


async def until_processed(
    harness: Harness, delivery_ids: Iterable[str], timeout: float = 60
) -> None:
    """Wait until the service has acted on each of these deliveries (each is marked processed,
    whatever its handler did); fail if one still is not at the deadline."""
    wanted = set(delivery_ids)
    db = open_database(harness.database_url, harness.tmp / "data")
    try:
        deadline = time.monotonic() + timeout
        while True:
            rows = db.execute(
                "SELECT delivery_id FROM deliveries WHERE processed_at IS NOT NULL"
            ).fetchall()
            left = wanted - {row["delivery_id"] for row in rows}
            if not left:
                return
            assert time.monotonic() < deadline, f"deliveries never processed: {sorted(left)}"
            await asyncio.sleep(0.1)
    finally:
        db.close()


async def until_swept(harness: Harness, sweeps: int = 2, timeout: float = 60) -> None:
    """Wait until `sweeps` whole sweeps have run after this call; fail after the deadline.

    A sweep's first step forgets the processes that are gone, so a row of a process long dead,
    put in `processes`, disappears at the start of the next sweep. Marked again each time, the
    (sweeps + 1)-th mark gone means the sweep before it, and all before, ran to the end."""
    db = open_database(harness.database_url, harness.tmp / "data")
    try:
        for _ in range(sweeps + 1):
            mark = f"gone-{secrets.token_hex(4)}"
            db.execute(
                "INSERT INTO processes (id, host, pid, role, started_at, seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (mark, "a machine long gone", 1, "serve", 0.0, 0.0),
            )
            deadline = time.monotonic() + timeout
            while db.execute("SELECT id FROM processes WHERE id = ?", (mark,)).fetchone():
                assert time.monotonic() < deadline, (
                    f"no sweep in {timeout:.0f} s:\n{harness.logs()[-4000:]}"
                )
                await asyncio.sleep(0.1)
    finally:
        db.close()
