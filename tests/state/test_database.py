"""app/state/database.py: one interface over SQLite and PostgreSQL, each real."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import psycopg
import pytest

from app.state import State
from app.state.database import (
    DatabaseError,
    PostgresDatabase,
    _pyformat,
    describe,
    open_database,
)
from app.state.schema import SCHEMA


def test_placeholders_become_psycopgs_and_quoted_text_is_left_alone() -> None:
    assert _pyformat("SELECT ? WHERE a = ?") == "SELECT %s WHERE a = %s"
    assert _pyformat("SELECT '?', ? WHERE b LIKE 'x%'") == "SELECT '?', %s WHERE b LIKE 'x%%'"
    assert _pyformat("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , %s"
    assert _pyformat("SELECT 5 % 2") == "SELECT 5 %% 2"


def test_describe_never_shows_a_password(tmp_path: Path) -> None:
    assert describe(None, tmp_path) == f"SQLite in {tmp_path / 'conveyor.sqlite3'}"
    text = describe("postgresql://ci:hunter2@db.internal:6543/conveyor", tmp_path)
    assert text == "PostgreSQL database 'conveyor' at db.internal:6543"
    assert "hunter2" not in text


def test_a_failed_transaction_leaves_nothing(database_url: str | None, tmp_path: Path) -> None:
    db = open_database(database_url, tmp_path)
    db.execute("CREATE TABLE t (n BIGINT PRIMARY KEY)")

    def insert_then_fail() -> None:
        with db.transaction():
            db.execute("INSERT INTO t (n) VALUES (?)", (1,))
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        insert_then_fail()
    with db.transaction():
        db.execute("INSERT INTO t (n) VALUES (?)", (2,))
    assert db.execute("SELECT n FROM t").fetchall() == [{"n": 2}]
    assert db.execute("INSERT INTO t (n) VALUES (2) ON CONFLICT DO NOTHING").rowcount == 0
    db.close()


def test_the_schema_is_made_once_by_processes_starting_together(
    database_url: str | None, tmp_path: Path
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        start.wait()
        try:
            State.on(open_database(database_url, tmp_path)).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    state = State.on(open_database(database_url, tmp_path))
    assert {"worker", "announcing_since", "coverage"} <= state.db.columns("jobs")
    state.close()


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


def test_nul_in_text_is_kept_as_a_replacement_character(
    database_url: str | None, tmp_path: Path
) -> None:
    db = open_database(database_url, tmp_path)
    db.execute("CREATE TABLE t (s TEXT)")
    db.execute("INSERT INTO t (s) VALUES (?)", ("a\x00b",))
    db.executemany("INSERT INTO t (s) VALUES (?)", [("c\x00",), ("plain",)])
    stored = [row["s"] for row in db.execute("SELECT s FROM t")]
    if database_url:
        assert stored == ["a\ufffdb", "c\ufffd", "plain"]
    else:
        assert stored == ["a\x00b", "c\x00", "plain"]  # SQLite keeps it as it is
    db.close()


def test_a_writable_database_passes_the_write_probe_again_and_again(
    database_url: str | None, tmp_path: Path
) -> None:
    db = open_database(database_url, tmp_path)  # probed once on opening
    db.check_writable()
    db.check_writable()
    assert [row["id"] for row in db.execute("SELECT id FROM health")] == [1]
    db.close()


def test_a_database_that_refuses_writes_fails_the_probe_with_one_line(postgres_url: str) -> None:
    db = open_database(postgres_url, Path("/nonexistent"))
    db.execute("SET default_transaction_read_only = on")  # as on a read-only replica
    with pytest.raises(DatabaseError) as refused:
        db.check_writable()
    assert str(refused.value).startswith("DATABASE_URL: cannot be written: ")
    assert "read-only transaction" in str(refused.value)
    assert "\n" not in str(refused.value)
    db.close()


def test_a_file_that_is_not_a_database_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "conveyor.sqlite3"
    path.write_bytes(b"not a database, whatever its name says" * 200)
    with pytest.raises(DatabaseError) as refused:
        open_database(None, tmp_path)
    assert str(refused.value) == (
        f"{path}: the database is corrupt (file is not a database); restore it from a backup,"
        " or move it aside and Conveyor starts with an empty one"
    )
