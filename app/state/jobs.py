"""The job queue (the `jobs` table, and `plans` and `repo_checks`, what each commit runs): one
job per (repository, commit, check).

A job is `queued`, then `running`, then `finished`. It is finished with a conclusion and the
output to post; `reported` says whether GitHub has it yet, so that an answer GitHub refused or
never received is sent again instead of leaving a check run `in_progress`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.report.model import CheckOutput
from app.run_request import RunRequest
from app.state.database import Database, WriteError
from app.state.presence import no_live_process

QUEUED, RUNNING, FINISHED = "queued", "running", "finished"
READY_CHANNEL = "conveyor_jobs_ready"
# Why an attempt ended without a verdict: its process died (taken over), or was stopped.
INTERRUPTED_KILLED = "its process was killed (or its machine lost)"
INTERRUPTED_STOPPED = "Conveyor was stopped"


# The check a repository gets before Conveyor has seen what it runs.
DEFAULT_CHECKS = ("tests",)


# The columns of `jobs` that hold the job's RunRequest. What only the event says (a re-run was
# asked for, whether the branch moved) is not kept: it mattered to adding the job, not after.
REQUEST_COLUMNS = (
    "repo_full_name",
    "repo_id",
    "installation_id",
    "clone_url",
    "head_sha",
    "fetch_ref",
    "lane",
    "reason",
    "head_branch",
    "pull_number",
    "from_fork",
    "commit_message",
    "base_branch",
    "html_url",
    "only_tests",
    "private",
    "author",
)


@dataclass(frozen=True)
class Job:
    """One check of one commit, as requested (`request`), and what has become of it."""

    id: int
    public_id: str
    request: RunRequest
    check_name: str
    rerun_of: int | None  # the job this one runs again
    state: str
    cancel_reason: str | None
    check_run_id: int | None
    conclusion: str | None
    output: CheckOutput | None  # the verdict, once finished
    reported: bool
    attempts: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    coverage: float | None = None
    worker: str | None = None  # the process running it
    announcing_since: float | None = None
    # Whether the run may have secrets and share what it installs (worker.py `_trust`); None
    # until a worker decided.
    trusted: bool | None = None
    # Why the attempt before the current one ended without a verdict (see `earlier_attempts`).
    interrupted: str | None = None
    # The commit whose job replaced this one (cancel_reason says so in words).
    superseded_by: str | None = None

    @property
    def earlier_attempts(self) -> str | None:
        """What the run's page and log say when this is not the job's first attempt: each
        attempt's results and log are its own, so the earlier ones are not shown."""
        if self.attempts <= 1:
            return None
        before = "the first attempt" if self.attempts == 2 else f"attempt {self.attempts - 1}"
        why = self.interrupted or "its process stopped"  # requeued by an older version
        return (
            f"Attempt {self.attempts}: {before} stopped when {why}; "
            "what is shown here is this attempt's alone."
        )

    @property
    def external_id(self) -> str:
        return str(self.id)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        data = dict(row)
        asked = {name: data.pop(name) for name in REQUEST_COLUMNS}
        asked["from_fork"] = bool(asked["from_fork"])
        asked["private"] = None if asked["private"] is None else bool(asked["private"])
        asked["only_tests"] = tuple(json.loads(asked["only_tests"])) if asked["only_tests"] else ()
        data["request"] = RunRequest(**asked)
        data["trusted"] = None if data.get("trusted") is None else bool(data["trusted"])
        data["reported"] = bool(data["reported"])
        data["output"] = (
            CheckOutput.from_json(json.loads(data["output"])) if data["output"] else None
        )
        return cls(**data)


@dataclass(frozen=True)
class StoredPlan:
    plan: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class Enqueued:
    job: Job | None  # None: this commit already has (or is running) this check
    superseded: tuple[Job, ...]  # older jobs of the same lane that this one replaces


class JobQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, job_id: int) -> Job | None:
        row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def by_public_id(self, public_id: str) -> Job | None:
        row = self.db.execute("SELECT * FROM jobs WHERE public_id = ?", (public_id,)).fetchone()
        return Job.from_row(row) if row else None

    def enqueue(
        self, request: RunRequest, check_name: str, *, rerun_of: int | None = None
    ) -> Enqueued:
        """Add a job unless this commit has one already; supersede older commits of the lane."""
        with self.db.transaction():
            # Every event of a push may arrive at a different web process at the same moment.
            self.db.lock(request.repo_id)
            existing = self.db.execute(
                "SELECT state, cancel_reason, superseded_by FROM jobs WHERE repo_id = ?"
                " AND head_sha = ?"
                " AND check_name = ? ORDER BY id DESC LIMIT 1",
                (request.repo_id, request.head_sha, check_name),
            ).fetchone()
            if existing is not None:
                active = existing["state"] != FINISHED
                # (A row from before the superseded_by column says it only in words.)
                superseded = existing["superseded_by"] is not None or (
                    existing["cancel_reason"] or ""
                ).startswith("superseded")
                # The other events of the same push must not run a commit twice; a late
                # announcement of an old commit must not bring it back over a newer one; a
                # branch moved back to a commit that was superseded (a force-push) runs it again.
                revived = superseded and request.moves_head
                if active or not (request.rerun or revived):
                    return Enqueued(None, ())
            now = time.time()
            inserted = self.db.execute(
                "INSERT INTO jobs (public_id, repo_full_name, repo_id, installation_id,"
                " clone_url, head_sha, fetch_ref, lane, check_name, reason, head_branch,"
                " pull_number, from_fork, commit_message, rerun_of, state, created_at,"
                " base_branch, html_url, only_tests, private, author)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (
                    secrets.token_urlsafe(24),
                    request.repo_full_name,
                    request.repo_id,
                    request.installation_id,
                    request.clone_url,
                    request.head_sha,
                    request.fetch_ref,
                    request.lane,
                    check_name,
                    request.reason,
                    request.head_branch,
                    request.pull_number,
                    int(request.from_fork),
                    request.commit_message,
                    rerun_of,
                    QUEUED,
                    now,
                    request.base_branch,
                    request.html_url,
                    json.dumps(list(request.only_tests)) if request.only_tests else None,
                    None if request.private is None else int(request.private),
                    request.author,
                ),
            ).fetchone()
            assert inserted is not None
            job_id = inserted["id"]
            older = []
            if not request.rerun:
                # Re-running an old commit must not cancel the branch's head.
                older = self.db.execute(
                    "SELECT id FROM jobs WHERE lane = ? AND check_name = ? AND head_sha != ?"
                    " AND state != ? AND cancel_reason IS NULL",
                    (request.lane, check_name, request.head_sha, FINISHED),
                ).fetchall()
            for row in older:
                self.request_cancel(
                    row["id"], f"superseded by {request.head_sha}", superseded_by=request.head_sha
                )
        job = self.get(job_id)
        assert job is not None
        return Enqueued(job, tuple(j for j in map(self.get, (r["id"] for r in older)) if j))

    def notify_ready(self) -> None:
        """Wake the workers of other processes: a job can be claimed."""
        self.db.notify(READY_CHANNEL)

    def ready_signals(self) -> AsyncIterator[None]:
        """Each time another process says a job can be claimed (see `notify_ready`)."""
        return self.db.notifications(READY_CHANNEL)

    def set_check_run(self, job_id: int, check_run_id: int) -> None:
        self.db.execute("UPDATE jobs SET check_run_id = ? WHERE id = ?", (check_run_id, job_id))

    def claim(self, worker: str | None = None) -> Job | None:
        """Take the oldest queued job whose check run exists (there is somewhere to report).

        `worker` is the claiming process: while it lives, the job is its own."""
        with self.db.transaction():
            row = self.db.execute(
                "SELECT id FROM jobs WHERE state = ? AND check_run_id IS NOT NULL"  # noqa: S608
                f" AND cancel_reason IS NULL ORDER BY id LIMIT 1{self.db.skip_locked}",
                (QUEUED,),
            ).fetchone()
            if row is None:
                return None
            self.db.execute(
                "UPDATE jobs SET state = ?, started_at = ?, attempts = attempts + 1, worker = ?"
                " WHERE id = ?",
                (RUNNING, time.time(), worker, row["id"]),
            )
            # A new attempt has a log of its own; an earlier attempt's is not kept.
            self.db.execute("DELETE FROM job_logs WHERE job_id = ?", (row["id"],))
        return self.get(row["id"])

    def set_trusted(self, job_id: int, trusted: bool) -> None:
        self.db.execute("UPDATE jobs SET trusted = ? WHERE id = ?", (int(trusted), job_id))

    def rename(self, job_id: int, check_name: str) -> Job:
        self.db.execute("UPDATE jobs SET check_name = ? WHERE id = ?", (check_name, job_id))
        job = self.get(job_id)
        assert job is not None
        return job

    def request_cancel(self, job_id: int, reason: str, *, superseded_by: str | None = None) -> None:
        """Ask for the job to stop, with why; the first reason given stays, and with it
        whether a newer commit replaced the job (`superseded_by`)."""
        self.db.execute(
            "UPDATE jobs SET cancel_reason = COALESCE(cancel_reason, ?), superseded_by ="
            " CASE WHEN cancel_reason IS NULL THEN ? ELSE superseded_by END WHERE id = ?",
            (reason, superseded_by, job_id),
        )

    def finish(self, job_id: int, output: CheckOutput) -> Job:
        """Record the verdict; it still has to reach GitHub (`reported`)."""
        try:
            self.db.execute(
                "UPDATE jobs SET state = ?, conclusion = ?, output = ?, finished_at = ?,"
                " reported = 0 WHERE id = ?",
                (FINISHED, output.conclusion, json.dumps(output.to_json()), time.time(), job_id),
            )
        except self.db.write_errors as error:
            raise WriteError(str(error)) from error
        job = self.get(job_id)
        assert job is not None
        return job

    def requeue(self, job_id: int, worker: str | None = None, why: str | None = None) -> bool:
        """Put a running job back in the queue; with `worker`, only if that process had it.
        False when it was not (another process took it over first). `why`: why the attempt
        ended (kept: `take` said it already)."""
        sql = (
            "UPDATE jobs SET state = ?, started_at = NULL, worker = NULL,"
            " interrupted = COALESCE(?, interrupted) WHERE id = ? AND state = ?"
        )
        params: tuple[object, ...] = (QUEUED, why, job_id, RUNNING)
        if worker is not None:
            sql, params = f"{sql} AND worker = ?", (*params, worker)
        return self.db.execute(sql, params).rowcount == 1

    def running_on(self, worker: str | None) -> list[Job]:
        """The jobs this process is running (as the database says)."""
        rows = self.db.execute(
            "SELECT * FROM jobs WHERE state = ? AND worker = ? ORDER BY id", (RUNNING, worker)
        )
        return [Job.from_row(r) for r in rows]

    def orphaned_running(self, gone: Iterable[str]) -> list[Job]:
        """Running jobs whose process is not a live one (`no_live_process`)."""
        orphaned, dead = no_live_process("worker", gone)
        rows = self.db.execute(
            f"SELECT * FROM jobs WHERE state = ? AND {orphaned} ORDER BY id",  # noqa: S608
            (RUNNING, *dead),
        )
        return [Job.from_row(r) for r in rows]

    def take(self, job_id: int, was: str | None, by: str) -> bool:
        """Become the process in charge of a running job whose process is gone; False when
        another process took it first (or it finished meanwhile)."""
        cursor = self.db.execute(
            "UPDATE jobs SET worker = ?, interrupted = ? WHERE id = ? AND state = ?"
            " AND worker IS NOT DISTINCT FROM ?",
            (by, INTERRUPTED_KILLED, job_id, RUNNING, was),
        )
        return cursor.rowcount == 1

    def cancel_requested(self, job_ids: Iterable[int]) -> list[int]:
        """Which of these jobs someone asked to cancel (maybe from another process)."""
        ids = list(job_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id FROM jobs WHERE id IN ({marks}) AND cancel_reason IS NOT NULL",  # noqa: S608
            ids,
        )
        return [r["id"] for r in rows]

    def begin_announce(self, job_id: int, stale_after: float) -> bool:
        """Become the one creating this job's check run; False while another is at it.

        Two processes must not both create it (one run would stay `queued` for ever); an
        attempt older than `stale_after` seconds died with its process and is retried."""
        now = self.db.now
        cursor = self.db.execute(
            f"UPDATE jobs SET announcing_since = {now} WHERE id = ? AND check_run_id IS NULL"  # noqa: S608
            f" AND (announcing_since IS NULL OR announcing_since < {now} - ?)",
            (job_id, stale_after),
        )
        return cursor.rowcount == 1

    def end_announce(self, job_id: int, check_run_id: int | None) -> None:
        self.db.execute(
            "UPDATE jobs SET announcing_since = NULL,"
            " check_run_id = COALESCE(?, check_run_id) WHERE id = ?",
            (check_run_id, job_id),
        )

    def mark_reported(self, job_id: int) -> None:
        try:
            self.db.execute("UPDATE jobs SET reported = 1 WHERE id = ?", (job_id,))
        except self.db.write_errors as error:
            raise WriteError(str(error)) from error

    def unfinished(self) -> list[Job]:
        """The queued jobs, then the running ones."""
        return [*self.in_state(QUEUED), *self.in_state(RUNNING)]

    def in_state(self, state: str) -> list[Job]:
        rows = self.db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY id", (state,))
        return [Job.from_row(r) for r in rows]

    def cancelled_while_queued(self) -> list[Job]:
        rows = self.db.execute(
            "SELECT * FROM jobs WHERE state = ? AND cancel_reason IS NOT NULL ORDER BY id",
            (QUEUED,),
        )
        return [Job.from_row(r) for r in rows]

    def unreported(self) -> list[Job]:
        rows = self.db.execute(
            "SELECT * FROM jobs WHERE state = ? AND reported = 0 AND check_run_id IS NOT NULL"
            " ORDER BY id",
            (FINISHED,),
        )
        return [Job.from_row(r) for r in rows]

    def without_check_run(self) -> list[Job]:
        rows = self.db.execute(
            "SELECT * FROM jobs WHERE check_run_id IS NULL AND state != ? ORDER BY id",
            (FINISHED,),
        )
        return [Job.from_row(r) for r in rows]

    def latest_for_check_run(self, repo_id: int, check_run_id: int) -> Job | None:
        row = self.db.execute(
            "SELECT * FROM jobs WHERE repo_id = ? AND check_run_id = ? ORDER BY id DESC LIMIT 1",
            (repo_id, check_run_id),
        ).fetchone()
        return Job.from_row(row) if row else None

    def last_job(self, repo_id: int, head_sha: str, check_name: str) -> Job | None:
        row = self.db.execute(
            "SELECT * FROM jobs WHERE repo_id = ? AND head_sha = ? AND check_name = ?"
            " ORDER BY id DESC LIMIT 1",
            (repo_id, head_sha, check_name),
        ).fetchone()
        return Job.from_row(row) if row else None

    def jobs_for_commit(self, repo_id: int, head_sha: str) -> list[Job]:
        rows = self.db.execute(
            "SELECT * FROM jobs WHERE repo_id = ? AND head_sha = ? ORDER BY id", (repo_id, head_sha)
        )
        return [Job.from_row(r) for r in rows]

    def set_coverage(self, job_id: int, coverage: float | None) -> None:
        self.db.execute("UPDATE jobs SET coverage = ? WHERE id = ?", (coverage, job_id))

    def base_run(self, job: Job) -> Job | None:
        """The last finished run of this check on the base branch, of another commit."""
        if not job.request.base_branch:
            return None
        row = self.db.execute(
            "SELECT * FROM jobs WHERE repo_id = ? AND check_name = ? AND head_branch = ?"
            " AND head_sha != ? AND state = ? AND conclusion IN ('success', 'failure')"
            " AND id IN (SELECT job_id FROM test_results) ORDER BY finished_at DESC LIMIT 1",
            (
                job.request.repo_id,
                job.check_name,
                job.request.base_branch,
                job.request.head_sha,
                FINISHED,
            ),
        ).fetchone()
        return Job.from_row(row) if row else None

    # -- plans ---------------------------------------------------------------------------------

    def expected_checks(self, repo_id: int) -> tuple[str, ...]:
        """The check names of the repository's latest plan: what a new commit gets at once (and
        what `protect` makes required); the default ones before any plan."""
        row = self.db.execute(
            "SELECT names FROM repo_checks WHERE repo_id = ?", (repo_id,)
        ).fetchone()
        try:
            names = json.loads(row["names"]) if row else []
        except ValueError:
            names = []
        picked = tuple(name for name in names if isinstance(name, str) and name)
        return picked or DEFAULT_CHECKS

    def save_plan(
        self,
        repo_id: int,
        head_sha: str,
        plan: dict[str, Any] | None,
        error: str | None,
        names: tuple[str, ...],
    ) -> StoredPlan:
        """Keep the commit's plan; the first one saved wins (two jobs may work it out at once)."""
        now = time.time()
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO plans (repo_id, head_sha, plan, error, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (repo_id, head_sha, json.dumps(plan) if plan is not None else None, error, now),
            )
            if names:
                self.db.execute(
                    "INSERT INTO repo_checks (repo_id, names, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (repo_id) DO UPDATE SET names = excluded.names,"
                    " updated_at = excluded.updated_at",
                    (repo_id, json.dumps(list(names)), now),
                )
        stored = self.stored_plan(repo_id, head_sha)
        assert stored is not None
        return stored

    def stored_plan(self, repo_id: int, head_sha: str) -> StoredPlan | None:
        row = self.db.execute(
            "SELECT plan, error FROM plans WHERE repo_id = ? AND head_sha = ?", (repo_id, head_sha)
        ).fetchone()
        if row is None:
            return None
        return StoredPlan(json.loads(row["plan"]) if row["plan"] else None, row["error"])

    def conclusions(self) -> dict[str | None, int]:
        rows = self.db.execute(
            "SELECT conclusion, COUNT(*) AS n FROM jobs WHERE state = ? GROUP BY conclusion",
            (FINISHED,),
        )
        return {r["conclusion"]: r["n"] for r in rows}

    def durations(self, bounds: tuple[float, ...]) -> tuple[int, float, list[int]]:
        """Seconds from start to verdict over every finished job that started: (count, sum,
        how many took at most each bound)."""
        buckets = ", ".join(
            f"SUM(CASE WHEN finished_at - started_at <= {float(bound)} THEN 1 ELSE 0 END) AS b{n}"
            for n, bound in enumerate(bounds)
        )
        row = self.db.execute(
            "SELECT COUNT(*) AS n, COALESCE(SUM(finished_at - started_at), 0) AS total,"  # noqa: S608
            f" {buckets} FROM jobs WHERE state = ? AND started_at IS NOT NULL"
            " AND finished_at IS NOT NULL",
            (FINISHED,),
        ).fetchone()
        assert row is not None
        return row["n"], float(row["total"]), [int(row[f"b{n}"] or 0) for n in range(len(bounds))]

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        return {r["state"]: r["n"] for r in rows}
