"""The tables of the service's state, and how a database of an earlier version catches up.

Each table has one owner module in this package, the only one that reads or writes it (jobs.py:
jobs, plans and repo_checks; deliveries.py; installations.py; test_history.py: test_results;
logs.py: job_logs; presence.py: processes). The schema is kept whole here so that the tables can
be read side by side.
"""

from __future__ import annotations

from app.state.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    action TEXT,
    body {blob} NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    processed_at DOUBLE PRECISION,
    error TEXT,
    received_by TEXT,
    -- SHA-256 of the body (hex), unique: see `record_delivery`. NULL in rows of older versions.
    body_sha256 TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (processed_at, received_at);

CREATE TABLE IF NOT EXISTS installations (
    id BIGINT PRIMARY KEY,
    account TEXT NOT NULL,
    active BIGINT NOT NULL,
    repositories TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    -- When Conveyor last tried to uninstall itself from an account not in ALLOWED_OWNERS.
    refused_at DOUBLE PRECISION
);

CREATE TABLE IF NOT EXISTS jobs (
    id {serial},
    public_id TEXT NOT NULL UNIQUE,
    repo_full_name TEXT NOT NULL,
    repo_id BIGINT NOT NULL,
    installation_id BIGINT NOT NULL,
    clone_url TEXT NOT NULL,
    head_sha TEXT NOT NULL,
    fetch_ref TEXT NOT NULL,
    lane TEXT NOT NULL,
    check_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    head_branch TEXT,
    pull_number BIGINT,
    from_fork BIGINT NOT NULL,
    commit_message TEXT,
    rerun_of BIGINT,
    state TEXT NOT NULL,
    cancel_reason TEXT,
    check_run_id BIGINT,
    conclusion TEXT,
    output TEXT,
    reported BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    base_branch TEXT,
    html_url TEXT,
    only_tests TEXT,
    coverage DOUBLE PRECISION,
    worker TEXT,
    announcing_since DOUBLE PRECISION,
    -- Decided by the worker from facts (see worker.py `_trust`); NULL until then.
    trusted BIGINT,
    -- Why the job's last attempt ended without a verdict (its process was killed, say).
    interrupted TEXT,
    -- The commit whose job replaced this one (a newer push to the same branch or pull request).
    superseded_by TEXT,
    -- 1 if GitHub says the repository is private, 0 if public, NULL if not known.
    private BIGINT,
    -- The commit's author as the event named them (NULL: it did not).
    author TEXT
);
CREATE INDEX IF NOT EXISTS jobs_commit ON jobs (repo_id, head_sha, check_name);
CREATE INDEX IF NOT EXISTS jobs_lane ON jobs (lane, state);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
-- A repository's runs, newest first (job_history.py; names compared as GitHub does).
CREATE INDEX IF NOT EXISTS jobs_repository ON jobs (LOWER(repo_full_name), id);

-- What a commit runs, worked out once by the first of its jobs (plan: JSON; error: for people).
CREATE TABLE IF NOT EXISTS plans (
    repo_id BIGINT NOT NULL,
    head_sha TEXT NOT NULL,
    plan TEXT,
    error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (repo_id, head_sha)
);

-- Every test of every finished job: what "new", "still failing", "fixed" and "flaky" are
-- worked out from.
CREATE TABLE IF NOT EXISTS test_results (
    job_id BIGINT NOT NULL,
    repo_id BIGINT NOT NULL,
    check_name TEXT NOT NULL,
    head_sha TEXT NOT NULL,
    node_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration DOUBLE PRECISION NOT NULL,
    seq BIGINT
);
CREATE INDEX IF NOT EXISTS test_results_job ON test_results (job_id);
CREATE INDEX IF NOT EXISTS test_results_test ON test_results (repo_id, check_name, node_id);

-- The check names of a repository's latest plan: the check runs a new commit gets at once.
CREATE TABLE IF NOT EXISTS repo_checks (
    repo_id BIGINT PRIMARY KEY,
    names TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- A run's log, in the order it was written: the web process shows it, wherever the job ran.
-- `start` is the chunk's place in all of the output: a gap is output dropped by the log's cap.
-- Only the job's latest attempt is kept (jobs.py `claim`); `attempt` keeps a late chunk of an
-- earlier one out of it (NULL in rows of older versions).
CREATE TABLE IF NOT EXISTS job_logs (
    job_id BIGINT NOT NULL,
    start BIGINT NOT NULL,
    data {blob} NOT NULL,
    attempt BIGINT,
    PRIMARY KEY (job_id, start)
);

-- The Conveyor processes: a job or delivery whose process is gone is taken over by another.
CREATE TABLE IF NOT EXISTS processes (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    role TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL
);
"""


# (table, column, type) in the order they were added: databases of earlier versions gain them.
ADDED_COLUMNS = (
    ("jobs", "base_branch", "TEXT"),
    ("jobs", "html_url", "TEXT"),
    ("jobs", "only_tests", "TEXT"),
    ("jobs", "coverage", "DOUBLE PRECISION"),
    ("jobs", "worker", "TEXT"),
    ("jobs", "announcing_since", "DOUBLE PRECISION"),
    ("deliveries", "received_by", "TEXT"),
    ("test_results", "seq", "BIGINT"),
    ("jobs", "trusted", "BIGINT"),
    ("deliveries", "body_sha256", "TEXT"),
    ("installations", "refused_at", "DOUBLE PRECISION"),
    ("job_logs", "attempt", "BIGINT"),
    ("jobs", "interrupted", "TEXT"),
    ("jobs", "superseded_by", "TEXT"),
    ("jobs", "private", "BIGINT"),
    ("jobs", "author", "TEXT"),
)
MIGRATION_LOCK = 0x6D696772  # "migr"
# Indexes on added columns: made once the columns exist, in old databases as in new ones.
ADDED_INDEXES = ("CREATE UNIQUE INDEX IF NOT EXISTS deliveries_body ON deliveries (body_sha256)",)


def create(database: Database) -> None:
    """Make the tables a new database lacks, and the columns an older one lacks."""
    database.create_schema(SCHEMA)
    _migrate(database)


def _migrate(db: Database) -> None:
    """Columns added after a table was first made (CREATE IF NOT EXISTS keeps old tables),
    and their indexes. One process at a time: PostgreSQL's IF NOT EXISTS is no guard
    against another process creating the same index at the same moment."""
    with db.transaction():
        db.lock(MIGRATION_LOCK)
        for table, column, kind in ADDED_COLUMNS:
            if column not in db.columns(table):
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        for statement in ADDED_INDEXES:
            db.execute(statement)
