"""The jobs table read for people: a repository's runs newest first, the newest of a branch, the
status a badge shows, and whether the repository is public. Read only: `jobs.py` owns the table
and is the only one that writes it (this is apart so that it stays the size of one job).

Names are compared as GitHub compares them, without regard to case (`/Octo/Hello` is
`octo/hello`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.state.database import Database
from app.state.jobs import FINISHED, Job

PAGE = 30
# What a badge says, by the newest run that says something (cancelled and skipped runs do not).
PASSING, FAILING, RUNNING, UNKNOWN = "passing", "failing", "running", "unknown"
FAILED = ("failure", "timed_out", "action_required", "startup_failure")
SILENT = ("cancelled", "skipped", "stale")


@dataclass(frozen=True)
class Point:
    """One finished run in a check's trend."""

    conclusion: str
    seconds: float | None  # how long it ran


@dataclass(frozen=True)
class Related:
    """The runs a run's page links to: the run it re-ran, the re-runs of it, and the run of the
    commit that replaced it (a newer push to its branch or pull request)."""

    rerun_of: Job | None
    reruns: tuple[Job, ...]
    replaced_by: Job | None


@dataclass(frozen=True)
class HistoryFilter:
    branch: str | None = None
    pull_number: int | None = None
    check: str | None = None
    conclusion: str | None = None  # a conclusion, or "queued" / "running" for those states
    before: int | None = None  # a job id: the page after the one that ended there


class JobHistory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def public(self, repository: str) -> bool:
        """True only if GitHub said the repository is public, on its newest run."""
        row = self.db.execute(
            "SELECT private FROM jobs WHERE LOWER(repo_full_name) = LOWER(?)"
            " ORDER BY id DESC LIMIT 1",
            (repository,),
        ).fetchone()
        return row is not None and row["private"] is not None and not row["private"]

    def runs(
        self, repository: str, chosen: HistoryFilter = HistoryFilter(), limit: int = PAGE
    ) -> list[Job]:
        # A state for the runs without a verdict yet, else a verdict.
        verdict = "state" if chosen.conclusion in ("queued", "running") else "conclusion"
        clauses: list[tuple[str, Any]] = [
            ("LOWER(repo_full_name) = LOWER(?)", repository),
            ("head_branch = ?", chosen.branch),
            ("pull_number = ?", chosen.pull_number),
            ("check_name = ?", chosen.check),
            (f"{verdict} = ?", chosen.conclusion),
            ("id < ?", chosen.before),
        ]
        where = [clause for clause, value in clauses if value is not None]
        values = [value for _, value in clauses if value is not None]
        rows = self.db.execute(
            # The clauses are the constants above; every value is a parameter.
            f"SELECT * FROM jobs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*values, limit),
        ).fetchall()
        return [Job.from_row(row) for row in rows]

    def checks(self, repository: str) -> list[str]:
        """The check names the repository's runs have had, for the filters."""
        rows = self.db.execute(
            "SELECT DISTINCT check_name FROM jobs WHERE LOWER(repo_full_name) = LOWER(?)"
            " ORDER BY check_name",
            (repository,),
        ).fetchall()
        return [row["check_name"] for row in rows]

    def latest(self, repository: str, branch: str | None, check: str | None = None) -> Job | None:
        found = self.runs(repository, HistoryFilter(branch=branch, check=check), limit=1)
        return found[0] if found else None

    def badge(self, repository: str, branch: str | None, check: str | None = None) -> str:
        """What the branch's badge says: the newest run's verdict (running while it runs)."""
        for job in self.runs(repository, HistoryFilter(branch=branch, check=check), limit=50):
            if job.state != FINISHED:
                return RUNNING
            if job.conclusion == "success":
                return PASSING
            if job.conclusion in FAILED:
                return FAILING
            if job.conclusion not in SILENT:
                return UNKNOWN  # neutral: says nothing either way
        return UNKNOWN

    def recent_public(self, limit: int = PAGE) -> list[Job]:
        """The newest runs of repositories GitHub said are public, for the front page."""
        rows = self.db.execute(
            "SELECT * FROM jobs WHERE private = 0 ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Job.from_row(row) for row in rows]

    def related(self, job: Job) -> Related:
        rerun_of = None
        if job.rerun_of is not None:
            row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job.rerun_of,)).fetchone()
            rerun_of = Job.from_row(row) if row else None
        reruns = self.db.execute(
            "SELECT * FROM jobs WHERE rerun_of = ? ORDER BY id", (job.id,)
        ).fetchall()
        replaced_by = None
        if job.superseded_by:
            row = self.db.execute(
                "SELECT * FROM jobs WHERE repo_id = ? AND head_sha = ? AND check_name = ?"
                " ORDER BY id DESC LIMIT 1",
                (job.request.repo_id, job.superseded_by, job.check_name),
            ).fetchone()
            replaced_by = Job.from_row(row) if row else None
        return Related(rerun_of, tuple(Job.from_row(row) for row in reruns), replaced_by)

    def trend(self, repository: str, runs: int = 20) -> dict[str, list[Point]]:
        """Each check's last `runs` finished runs, oldest first: the repository page's lines."""
        trends = {}
        for check in self.checks(repository):
            rows = self.db.execute(
                "SELECT conclusion, started_at, finished_at FROM jobs"
                " WHERE LOWER(repo_full_name) = LOWER(?) AND check_name = ? AND state = ?"
                " ORDER BY id DESC LIMIT ?",
                (repository, check, FINISHED, runs),
            ).fetchall()
            trends[check] = [
                Point(
                    row["conclusion"] or "neutral",
                    row["finished_at"] - row["started_at"] if row["started_at"] else None,
                )
                for row in reversed(rows)
            ]
        return trends
