"""app/state/database.py: one interface over SQLite and PostgreSQL, each real; what each
dialect does alone is tested in test_sqlite.py and test_postgres.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.state import State
from app.state.database import DatabaseError, describe, open_database


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
