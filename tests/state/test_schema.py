"""app/state/schema.py: a database of an earlier version gains the columns and indexes added
since, keeping its rows."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.run_request import RunRequest
from app.state import State
from app.state.database import Database


def test_an_older_database_gains_the_body_column_and_its_index(
    open_db: Callable[[], Database],
) -> None:
    # The deliveries table as versions before the body hash made it, with a delivery in it.
    db = open_db()
    db.create_schema(
        "CREATE TABLE deliveries (delivery_id TEXT PRIMARY KEY, event TEXT NOT NULL,"
        " action TEXT, body {blob} NOT NULL, received_at DOUBLE PRECISION NOT NULL,"
        " processed_at DOUBLE PRECISION, error TEXT, received_by TEXT);"
        "CREATE TABLE installations (id BIGINT PRIMARY KEY, account TEXT NOT NULL,"
        " active BIGINT NOT NULL, repositories TEXT NOT NULL,"
        " updated_at DOUBLE PRECISION NOT NULL);"
    )
    db.execute(
        "INSERT INTO deliveries (delivery_id, event, body, received_at) VALUES (?, ?, ?, ?)",
        ("before", "push", b"{}", time.time()),
    )
    db.execute(
        "INSERT INTO installations (id, account, active, repositories, updated_at)"
        " VALUES (5, 'octo-org', 1, '[]', 0)"
    )
    db.close()
    state = State.on(open_db())
    try:
        assert {"body_sha256"} <= state.db.columns("deliveries")
        assert {"refused_at"} <= state.db.columns("installations")
        # Rows from before have no hash, and do not stand in each other's way.
        assert state.deliveries.record("before", "push", None, b"{}") is False
        assert state.deliveries.record("after", "push", None, b"{}") is True
        assert state.deliveries.record("again", "push", None, b"{}") is False
        assert state.installations.account(5) == "octo-org"
        assert state.installations.refused_count() == 0
    finally:
        state.close()
    State.on(open_db()).close()  # and the migration is done once


def test_an_older_database_s_logs_gain_the_attempt_and_stay_readable(
    open_db: Callable[[], Database],
) -> None:
    # job_logs as versions before attempts made it, with a finished job's log in it.
    db = open_db()
    db.create_schema(
        "CREATE TABLE job_logs (job_id BIGINT NOT NULL, start BIGINT NOT NULL,"
        " data {blob} NOT NULL, PRIMARY KEY (job_id, start));"
    )
    db.execute("INSERT INTO job_logs (job_id, start, data) VALUES (1, 0, ?)", (b"old log\n",))
    db.close()
    state = State.on(open_db())
    try:
        assert {"attempt"} <= state.db.columns("job_logs")
        assert {"interrupted"} <= state.db.columns("jobs")
        queue = state.jobs
        enqueued = queue.enqueue(
            RunRequest(
                repo_full_name="octo/hello",
                repo_id=1,
                installation_id=2,
                clone_url="https://github.com/octo/hello.git",
                head_sha="a" * 40,
                fetch_ref="refs/heads/main",
                lane="1:branch:main",
                reason="push",
                head_branch="main",
            ),
            "tests",
        ).job
        assert enqueued is not None
        assert enqueued.id == 1
        assert state.logs.read(1) == (b"old log\n", 8)
    finally:
        state.close()
