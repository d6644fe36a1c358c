"""app/state/sqlite.py: SQLite's own behaviour, on a real file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.state.database import DatabaseError, open_database


async def test_sqlite_wakes_other_processes_on_the_machine(tmp_path: Path) -> None:
    listener, sender = open_database(None, tmp_path), open_database(None, tmp_path)
    signals = listener.notifications("jobs_ready")
    waiting = asyncio.ensure_future(anext(signals))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    sender.notify("jobs_ready")
    await asyncio.wait_for(waiting, 5)
    again = asyncio.ensure_future(anext(signals))
    await asyncio.sleep(0.3)
    assert not again.done()  # one notify, one wake-up
    sender.notify("jobs_ready")
    await asyncio.wait_for(again, 5)
    await signals.aclose()
    listener.close()
    sender.close()


def test_a_file_that_is_not_a_database_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "conveyor.sqlite3"
    path.write_bytes(b"not a database, whatever its name says" * 200)
    with pytest.raises(DatabaseError) as refused:
        open_database(None, tmp_path)
    assert str(refused.value) == (
        f"{path}: the database is corrupt (file is not a database); restore it from a backup,"
        " or move it aside and Conveyor starts with an empty one"
    )
