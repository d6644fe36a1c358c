"""SQLite, the whole database of a one-machine Conveyor: a file in the data folder.

What is SQLite's own: the file opened (checked intact, switched to WAL, refused when the disk
holding it is full), `BEGIN IMMEDIATE` as the one-writer transaction, and waking the other
processes on the machine through a touched file next to the database.

The base class comes from `app.state.database`, which imports this module only inside its
opening functions: loading either module never needs the other half-loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from app.state.database import Database, DatabaseError, Row, Rows, one_line

# How often a SQLite worker looks for a wake-up from another process (a stat call).
SIGNAL_POLL = 0.1
# Less free disk than this next to a SQLite database, and it is not writable (check_writable).
MIN_FREE_DISK = 1024 * 1024


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


# SQLite's primary result codes (https://sqlite.org/rescode.html) that mean the file is damaged,
# and those that mean it cannot be written.
CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
UNWRITABLE = {3, 8, 13}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_FULL


def _code(error: sqlite3.Error) -> int:
    return int(getattr(error, "sqlite_errorcode", 0)) & 0xFF


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class SqliteDatabase(Database):
    dialect = "sqlite"
    now = "((julianday('now') - 2440587.5) * 86400.0)"
    write_errors = (sqlite3.OperationalError,)
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        super().__init__()
        self.path = path
        self.name = str(path)
        self.read_only = read_only
        try:
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            first = self._connect_file()
        except (OSError, sqlite3.Error) as error:
            raise DatabaseError(f"{path}: cannot be opened: {one_line(error)}") from None
        if read_only:
            self._use(first)
            return
        try:
            self._check_intact(first)
            self._use_wal(first)
            self._tune(first)
            self._use(first)
        except sqlite3.Error as error:
            first.close()
            how = "be written" if _code(error) in UNWRITABLE else "be opened"
            raise DatabaseError(f"{path}: cannot {how}: {one_line(error)}") from None
        try:
            self.check_writable()
        except DatabaseError:
            self.close()
            raise

    def _open(self) -> sqlite3.Connection:
        conn = self._connect_file()
        self._tune(conn)
        return conn

    def _connect_file(self) -> sqlite3.Connection:
        if self.read_only:
            # mode=ro: a missing file is an error, not a new database.
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
            )
        else:
            conn = sqlite3.connect(
                self.path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
        conn.row_factory = _dict_row
        return conn

    def _tune(self, conn: sqlite3.Connection) -> None:
        if not self.read_only:
            # WAL with synchronous=NORMAL survives a killed process; only a power cut can lose
            # the last transactions, which GitHub's redelivery (3 days) covers.
            conn.execute("PRAGMA synchronous=NORMAL")

    @property
    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = self._connection()
        return conn

    def check_writable(self) -> None:
        # The probe's row may fit in a page the write-ahead log already holds, on a disk with
        # no room for the next delivery (or the checkpoint): say so before a webhook finds out.
        try:
            disk = os.statvfs(self.path.parent)
        except OSError as error:
            raise DatabaseError(f"{self.path}: cannot be written: {error.strerror}") from None
        free = disk.f_bavail * disk.f_frsize
        if free < MIN_FREE_DISK:
            raise DatabaseError(
                f"{self.path}: cannot be written: the disk holding it is full"
                f" ({free // 1024} kB free)"
            )
        super().check_writable()

    def _check_intact(self, conn: sqlite3.Connection) -> None:
        """A corrupt file opens and serves some reads, then fails every webhook with a 500:
        stop the start instead, saying so. quick_check reads every page (not the indexes'
        agreement with their tables, which full integrity_check adds at many times the cost)."""
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as error:
            if _code(error) not in CORRUPT:  # e.g. a folder where the WAL's files cannot go
                raise
            problem = one_line(error)  # "file is not a database", "malformed"
        else:
            found = [str(next(iter(row.values()))) for row in rows]
            if found == ["ok"]:
                return
            problem = "; ".join(found[:3]) + ("; ..." if len(found) > 3 else "")
        raise DatabaseError(
            f"{self.path}: the database is corrupt ({' '.join(problem.split())}); restore"
            " it from a backup, or move it aside and Conveyor starts with an empty one"
        )

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a new file to WAL needs it to itself, and SQLite answers "locked" at once
        # without calling the busy handler: processes opening the file together must retry.
        deadline = time.monotonic() + 5.0
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self.db.execute(sql, params)  # type: ignore[return-value]

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front: one writer at a time, no late upgrade.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def create_schema(self, schema: str) -> None:
        self.db.executescript(self.schema(schema))

    # Processes sharing the file are on one machine: a touched file next to it is their signal.
    def _signal(self, channel: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{channel}")

    def notify(self, channel: str) -> None:
        signal = self._signal(channel)
        try:
            os.utime(signal)
        except FileNotFoundError:
            signal.touch()

    async def notifications(self, channel: str) -> AsyncGenerator[None, None]:
        signal = self._signal(channel)
        seen = _mtime(signal)
        while True:
            await asyncio.sleep(SIGNAL_POLL)
            now = _mtime(signal)
            if now != seen:
                seen = now
                yield

    def columns(self, table: str) -> set[str]:
        return {row["name"] for row in self.db.execute(f"PRAGMA table_info({table})")}
