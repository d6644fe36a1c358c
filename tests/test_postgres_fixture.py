from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.postgres import SYSTEM_USER, PostgresServer

ROOT = Path(__file__).resolve().parents[1]


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


def test_a_server_outlives_no_test_session_even_one_killed_with_sigkill() -> None:
    root = Path(tempfile.mkdtemp(prefix="conveyor-pg-"))  # the server's user must reach it
    # Leaving the `with` waits for it and closes the pipe from its stdout.
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from tests.postgres import PostgresServer\n"
            "server = PostgresServer.start(Path(sys.argv[1]))\n"
            "print(server.port, server.bin_dir, flush=True)\n"
            "time.sleep(600)\n",
            str(root),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as session:
        assert session.stdout is not None
        port_text, bin_dir = session.stdout.readline().split()
        port = int(port_text)
        psycopg.connect(f"postgresql://conveyor@127.0.0.1:{port}/postgres").close()
        session.kill()  # no atexit, no fixture teardown

    try:
        deadline = time.monotonic() + 30
        while root.exists():
            assert time.monotonic() < deadline, "the server and its folder outlived the session"
            time.sleep(0.1)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"postgresql://conveyor@127.0.0.1:{port}/postgres", connect_timeout=2)
    finally:
        if (root / "data" / "postmaster.pid").exists():  # the test failed: do what it expected
            server = PostgresServer(
                bin_dir=Path(bin_dir),
                root=root,
                port=port,
                run_as=SYSTEM_USER if os.geteuid() == 0 else None,
                running=True,
                owner_pid=os.getpid(),
            )
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
