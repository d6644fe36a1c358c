from __future__ import annotations

import uuid

import psycopg

from tests.postgres import PostgresServer


def test_server_answers(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url()) as conn:
        row = conn.execute("SELECT version()").fetchone()
    assert row is not None
    assert str(row[0]).startswith("PostgreSQL ")


def test_each_url_is_a_database_of_its_own(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    other = f"t_{uuid.uuid4().hex}"
    other_url = postgres_server.create_database(other)
    try:
        with psycopg.connect(postgres_url) as conn:
            conn.execute("CREATE TABLE jobs (id int)")
        with psycopg.connect(other_url) as conn:
            row = conn.execute("SELECT to_regclass('jobs')").fetchone()
        assert row == (None,)
        assert other_url != postgres_url
    finally:
        postgres_server.drop_database(other)


def test_skip_locked_passes_over_a_row_another_connection_holds(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as setup:
        setup.execute("CREATE TABLE jobs (id int PRIMARY KEY)")
        setup.execute("INSERT INTO jobs VALUES (1), (2)")
    claim = "SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    with psycopg.connect(postgres_url) as a, psycopg.connect(postgres_url) as b:
        assert a.execute(claim).fetchone() == (1,)
        # A's transaction is still open, so B must get the next row instead of waiting for A.
        assert b.execute(claim).fetchone() == (2,)
        b.rollback()
        assert b.execute("SELECT id FROM jobs FOR UPDATE SKIP LOCKED").fetchall() == [(2,)]
