"""The service's state: webhook deliveries, installations, jobs, and the processes serving them.

In SQLite (one machine) or PostgreSQL (`DATABASE_URL`, several); `app.database` hides which.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from app.database import Database

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
    superseded_by TEXT
);
CREATE INDEX IF NOT EXISTS jobs_commit ON jobs (repo_id, head_sha, check_name);
CREATE INDEX IF NOT EXISTS jobs_lane ON jobs (lane, state);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);

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
-- Only the job's latest attempt is kept (queue.py `claim`); `attempt` keeps a late chunk of an
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
)
MIGRATION_LOCK = 0x6D696772  # "migr"
# Indexes on added columns: made once the columns exist, in old databases as in new ones.
ADDED_INDEXES = ("CREATE UNIQUE INDEX IF NOT EXISTS deliveries_body ON deliveries (body_sha256)",)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def no_live_process(column: str, gone: Iterable[str]) -> tuple[str, list[str]]:
    """A WHERE condition and its parameters: the process named in `column` is not a live one.
    It is one of `gone`, one that stopped (its row is gone), or none is recorded. One
    condition, read in one statement: a process that registers meanwhile cannot lose its work."""
    dead = list(gone)
    marks = ",".join("?" * len(dead)) or "NULL"
    return (
        f"({column} IS NULL OR {column} NOT IN (SELECT id FROM processes)"  # noqa: S608
        f" OR {column} IN ({marks}))",
        dead,
    )


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    event: str
    body: bytes
    received_by: str | None = None  # the process that answered it


@dataclass(frozen=True)
class ProcessRecord:
    id: str
    host: str
    pid: int
    role: str
    started_at: float
    seen_at: float


class Store:
    def __init__(self, database: Database) -> None:
        self.db = database
        database.create_schema(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Columns added after a table was first made (CREATE IF NOT EXISTS keeps old tables),
        and their indexes. One process at a time: PostgreSQL's IF NOT EXISTS is no guard
        against another process creating the same index at the same moment."""
        with self.db.transaction():
            self.db.lock(MIGRATION_LOCK)
            for table, column, kind in ADDED_COLUMNS:
                if column not in self.db.columns(table):
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            for statement in ADDED_INDEXES:
                self.db.execute(statement)

    def close(self) -> None:
        self.db.close()

    # -- deliveries ---------------------------------------------------------------------------

    def record_delivery(
        self,
        delivery_id: str,
        event: str,
        action: str | None,
        body: bytes,
        received_by: str | None = None,
    ) -> bool:
        """Keep a delivery before answering it; False when this id, or this very body, was seen
        before (a replay).

        Why the body too: a signed body stays valid for ever, and `X-GitHub-Delivery` is not
        signed, so whoever holds one (a proxy's log, a leaked request) could send it again under
        a new id, e.g. a `check_run` rerequested to run the check again.

        Does GitHub ever send two deliveries with identical bodies that must both be acted on?
        Its redelivery of a failed delivery reuses the delivery's GUID: a duplicate id, dropped
        anyway. Two happenings differ in the body: pushes in `before`/`after`, `head_commit`
        and the repository's `pushed_at`; a pull request's events in `updated_at` and the head;
        comments in their ids; installation changes in their ids, repositories or timestamps;
        a "Re-run" in the check suite, which GitHub resets to queued (`status`, `updated_at`)
        at each request, and in the run clicked (Conveyor's re-run is a new check run, so the
        next click is on another id). What would be left is the same button clicked twice with
        nothing changed in between, within a second: one run for both is what was meant.
        The hash lives in the delivery's row, so it is kept exactly as long as the id: until
        `forget_deliveries_before` drops rows GitHub can no longer redeliver."""
        cursor = self.db.execute(
            "INSERT INTO deliveries (delivery_id, event, action, body, received_at, received_by,"
            " body_sha256) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (delivery_id, event, action, body, time.time(), received_by, body_digest(body)),
        )
        return cursor.rowcount == 1

    def duplicate_of(self, delivery_id: str, body: bytes) -> str | None:
        """The stored delivery that made `record_delivery` refuse this one: its id when the body
        is what repeats (a replay under a new id), None when the id itself does."""
        row = self.db.execute(
            "SELECT delivery_id FROM deliveries WHERE body_sha256 = ? AND delivery_id <> ?",
            (body_digest(body), delivery_id),
        ).fetchone()
        return None if row is None else str(row["delivery_id"])

    def delivery_processed(self, delivery_id: str, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE deliveries SET processed_at = ?, error = ? WHERE delivery_id = ?",
            (time.time(), error, delivery_id),
        )

    def orphaned_deliveries(self, gone: Iterable[str]) -> list[Delivery]:
        """Deliveries not acted on whose receiver is not a live process (`no_live_process`;
        none recorded: an older version received them)."""
        orphaned, dead = no_live_process("received_by", gone)
        rows = self.db.execute(
            "SELECT delivery_id, event, body, received_by FROM deliveries"  # noqa: S608
            f" WHERE processed_at IS NULL AND {orphaned} ORDER BY received_at",
            dead,
        ).fetchall()
        return [
            Delivery(r["delivery_id"], r["event"], bytes(r["body"]), r["received_by"]) for r in rows
        ]

    def take_delivery(self, delivery_id: str, was: str | None, now: str) -> bool:
        """Become the process acting on a delivery whose receiver is gone; False: another did."""
        cursor = self.db.execute(
            "UPDATE deliveries SET received_by = ? WHERE delivery_id = ?"
            " AND processed_at IS NULL AND received_by IS NOT DISTINCT FROM ?",
            (now, delivery_id, was),
        )
        return cursor.rowcount == 1

    def forget_deliveries_before(self, when: float) -> None:
        # Bodies are only needed until processed; ids are kept as long as GitHub may redeliver.
        self.db.execute(
            "DELETE FROM deliveries WHERE received_at < ? AND processed_at IS NOT NULL", (when,)
        )

    # -- installations ------------------------------------------------------------------------

    def record_installation(
        self,
        installation_id: int,
        account: str,
        *,
        active: bool,
        added: Iterable[str] = (),
        removed: Iterable[str] = (),
    ) -> None:
        with self.db.transaction():
            self.db.lock(installation_id)  # two web processes may change the same one
            row = self.db.execute(
                "SELECT repositories FROM installations WHERE id = ?", (installation_id,)
            ).fetchone()
            repos = set(json.loads(row["repositories"])) if row else set()
            repos |= set(added)
            repos -= set(removed)
            self.db.execute(
                "INSERT INTO installations (id, account, active, repositories, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET account = CASE"
                " WHEN excluded.account = '' THEN installations.account ELSE excluded.account END,"
                " active = excluded.active, repositories = excluded.repositories,"
                " updated_at = excluded.updated_at",
                (installation_id, account, int(active), json.dumps(sorted(repos)), time.time()),
            )

    def installation_account(self, installation_id: int) -> str | None:
        """The login of the account the installation is on, if known."""
        row = self.db.execute(
            "SELECT account FROM installations WHERE id = ?", (installation_id,)
        ).fetchone()
        return str(row["account"]) if row is not None and row["account"] else None

    def remember_account(self, installation_id: int, account: str) -> None:
        """The installation's account as GitHub's API just named it (logins can change)."""
        self.db.execute(
            "INSERT INTO installations (id, account, active, repositories, updated_at)"
            " VALUES (?, ?, 1, '[]', ?) ON CONFLICT (id) DO UPDATE SET"
            " account = excluded.account, updated_at = excluded.updated_at",
            (installation_id, account, time.time()),
        )

    def installation_refused(self, installation_id: int) -> bool:
        """Conveyor decided to leave this installation (ALLOWED_OWNERS)."""
        row = self.db.execute(
            "SELECT refused_at FROM installations WHERE id = ?", (installation_id,)
        ).fetchone()
        return row is not None and row["refused_at"] is not None

    def claim_refusal(self, installation_id: int, account: str, *, retry_after: float) -> bool:
        """Become the one to uninstall the app from an account not allowed: True once per
        installation (across processes), and again only when the last try is `retry_after`
        seconds old and did not end with the installation gone."""
        now = time.time()
        with self.db.transaction():
            self.db.lock(installation_id)
            row = self.db.execute(
                "SELECT active, refused_at FROM installations WHERE id = ?", (installation_id,)
            ).fetchone()
            if row is not None and row["refused_at"] is not None:
                done = not row["active"]  # uninstalled, or found gone
                if done or row["refused_at"] > now - retry_after:
                    return False
            self.db.execute(
                "INSERT INTO installations (id, account, active, repositories, updated_at,"
                " refused_at) VALUES (?, ?, 1, '[]', ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " account = excluded.account, refused_at = excluded.refused_at,"
                " updated_at = excluded.updated_at",
                (installation_id, account, now, now),
            )
        return True

    def installation_removed(self, installation_id: int) -> None:
        """Conveyor uninstalled itself (or found the installation already gone)."""
        self.db.execute(
            "UPDATE installations SET active = 0, updated_at = ? WHERE id = ?",
            (time.time(), installation_id),
        )

    def refused_installations(self) -> int:
        """How many installations Conveyor refused (and uninstalled itself from), ever."""
        [row] = self.db.execute(
            "SELECT COUNT(*) AS n FROM installations WHERE refused_at IS NOT NULL"
        ).fetchall()
        return int(row["n"])

    def installation(self, installation_id: int) -> tuple[str, bool, list[str]] | None:
        row = self.db.execute(
            "SELECT account, active, repositories FROM installations WHERE id = ?",
            (installation_id,),
        ).fetchone()
        if row is None:
            return None
        return row["account"], bool(row["active"]), json.loads(row["repositories"])

    # -- processes ----------------------------------------------------------------------------

    def register_process(self, record: ProcessRecord) -> None:
        self.db.execute(
            "INSERT INTO processes (id, host, pid, role, started_at, seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (record.id, record.host, record.pid, record.role, record.started_at, record.seen_at),
        )

    def clock(self) -> float:
        """The database's time: processes on machines whose clocks drift still agree on it."""
        [row] = self.db.execute(f"SELECT {self.db.now} AS now").fetchall()
        return float(row["now"])

    def process_seen(self, process_id: str) -> bool:
        """False when the row is gone: others took this process for dead."""
        cursor = self.db.execute(
            f"UPDATE processes SET seen_at = {self.db.now} WHERE id = ?",  # noqa: S608
            (process_id,),
        )
        return cursor.rowcount == 1

    def processes(self) -> list[ProcessRecord]:
        rows = self.db.execute("SELECT * FROM processes ORDER BY started_at, id")
        return [ProcessRecord(**row) for row in rows]

    def forget_process(self, process_id: str) -> None:
        self.db.execute("DELETE FROM processes WHERE id = ?", (process_id,))
