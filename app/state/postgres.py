"""PostgreSQL (`DATABASE_URL`): what lets web and worker processes on several machines share
one queue.

What is PostgreSQL's own: `?` placeholders turned into psycopg's, text without NUL, a lost
connection reopened once outside a transaction, advisory locks, `FOR UPDATE SKIP LOCKED`, and
`NOTIFY`/`LISTEN` to wake the other processes.

The base class comes from `app.state.database`, which imports this module only inside its
opening functions: loading either module never needs the other half-loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from app.state.database import SCHEMA_LOCK, Database, DatabaseError, Row, Rows

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    """`?` placeholders as psycopg's `%s`; a literal `%` doubled. Quoted text is left alone."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("%", "%%").replace("?", "%s")
    for index in range(1, len(parts), 2):
        parts[index] = parts[index].replace("%", "%%")
    return "".join(parts)


def _text_safe(params: Sequence[Any]) -> Sequence[Any]:
    """PostgreSQL's text cannot hold NUL, which SQLite's can: a payload's stray `\\u0000` (a
    commit message, a branch name) becomes U+FFFD rather than an error that loses the event."""
    if not any(isinstance(p, str) and "\x00" in p for p in params):
        return params
    return [p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params]


class PostgresDatabase(Database):
    dialect = "postgresql"
    now = "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    write_errors = (psycopg.OperationalError,)
    errors = (psycopg.Error,)

    threads = 4

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        super().__init__()
        self.url = url
        self.name = "DATABASE_URL"
        self.read_only = read_only
        self._use(self._open())
        if read_only:
            return
        try:
            self.check_writable()
        except DatabaseError:
            self.close()
            raise

    def _open(self) -> psycopg.Connection[Row]:
        conn = self._connect()
        if self.read_only:  # (False would be READ WRITE, over the server's default)
            conn.read_only = True
        return conn

    @property
    def conn(self) -> psycopg.Connection[Row]:
        conn: psycopg.Connection[Row] = self._connection()
        return conn

    @property
    def _in_transaction(self) -> bool:
        return bool(getattr(self._local, "in_transaction", False))

    @_in_transaction.setter
    def _in_transaction(self, value: bool) -> None:
        self._local.in_transaction = value

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        self._use(self._open())

    def _connect(self) -> psycopg.Connection[Row]:
        try:
            return psycopg.connect(
                self.url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.Error as error:
            raise DatabaseError(f"cannot connect to DATABASE_URL: {error}") from error

    def _run(self, sql: str, params: Sequence[Any], many: bool) -> Rows:
        statement = _pyformat(sql)
        params = [_text_safe(row) for row in params] if many else _text_safe(params)
        for attempt in (1, 2):
            try:
                if many:
                    cursor = self.conn.cursor()
                    cursor.executemany(statement, params)
                    return cursor  # type: ignore[return-value]
                return self.conn.execute(statement, params)  # type: ignore[return-value]
            except psycopg.OperationalError:
                # A restarted server or a dropped connection: reconnect once, unless inside a
                # transaction (its earlier statements are gone with the connection).
                if attempt == 2 or self._in_transaction or not self.conn.broken:
                    raise
                log.warning("database connection lost; reconnecting")
                self._reconnect()
        raise AssertionError("unreachable")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._run(sql, params, many=False)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._run(sql, list(rows), many=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self.conn.broken:
            self._reconnect()
        self._in_transaction = True
        try:
            with self.conn.transaction():
                yield
        finally:
            self._in_transaction = False

    def lock(self, key: int) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def create_schema(self, schema: str) -> None:
        with self.transaction():
            self.lock(SCHEMA_LOCK)
            # One statement per execute (psycopg's rule); comments may hold a `;` of their own.
            code = "\n".join(
                line
                for line in self.schema(schema).splitlines()
                if not line.strip().startswith("--")
            )
            for statement in code.split(";"):
                if statement.strip():
                    self.conn.execute(statement)

    def columns(self, table: str) -> set[str]:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", (table,)
        )
        return {row["column_name"] for row in rows}

    def notify(self, channel: str) -> None:
        self.execute("SELECT pg_notify(?, '')", (channel,))

    async def notifications(self, channel: str) -> AsyncGenerator[None, None]:
        delay = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=10
                ) as conn:
                    await conn.execute(f'LISTEN "{channel}"')
                    delay = 1.0
                    yield  # anything may have happened while not listening
                    async for _ in conn.notifies():
                        yield
            except psycopg.OperationalError as error:
                log.warning("not listening for %s: %s; again in %.0fs", channel, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
