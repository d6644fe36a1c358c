"""app/state/postgres.py: PostgreSQL's own behaviour, on a real server (tests/postgres.py)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from app.state.postgres import PostgresDatabase, _pyformat
from app.state.schema import SCHEMA


def test_placeholders_become_psycopgs_and_quoted_text_is_left_alone() -> None:
    assert _pyformat("SELECT ? WHERE a = ?") == "SELECT %s WHERE a = %s"
    assert _pyformat("SELECT '?', ? WHERE b LIKE 'x%'") == "SELECT '?', %s WHERE b LIKE 'x%%'"
    assert _pyformat("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , %s"
    assert _pyformat("SELECT 5 % 2") == "SELECT 5 %% 2"


def test_postgresql_reconnects_after_losing_its_connection(postgres_url: str) -> None:
    db = PostgresDatabase(postgres_url)
    db.create_schema(SCHEMA)
    pid = db.execute("SELECT pg_backend_pid() AS pid").fetchone()
    assert pid is not None
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid["pid"],))
    row = db.execute("SELECT 1 AS one").fetchone()
    assert row == {"one": 1}
    db.close()


def test_an_unreachable_postgresql_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="cannot connect to DATABASE_URL"):
        PostgresDatabase("postgresql://nobody@127.0.0.1:1/none")


async def test_postgresql_wakes_other_processes(postgres_url: str) -> None:
    listener, sender = PostgresDatabase(postgres_url), PostgresDatabase(postgres_url)
    signals = listener.notifications("jobs_ready")
    await asyncio.wait_for(anext(signals), 10)  # listening now: catch up on what was missed
    waiting = asyncio.ensure_future(anext(signals))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    sender.notify("jobs_ready")
    await asyncio.wait_for(waiting, 10)
    await signals.aclose()
    listener.close()
    sender.close()
