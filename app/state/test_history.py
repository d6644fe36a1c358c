"""Every test of every finished job (the `test_results` table): what "new", "still failing",
"fixed" and "flaky" are worked out from."""

from __future__ import annotations

from app.state.database import Database
from app.state.jobs import Job


class TestHistory:
    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, job: Job, results: list[tuple[str, str, float]]) -> None:
        """Keep each test's outcome: (node id, outcome, seconds)."""
        with self.db.transaction():
            self.db.execute("DELETE FROM test_results WHERE job_id = ?", (job.id,))
            self.db.executemany(
                "INSERT INTO test_results (job_id, repo_id, check_name, head_sha, node_id,"
                " outcome, duration, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job.id,
                        job.request.repo_id,
                        job.check_name,
                        job.request.head_sha,
                        node,
                        outcome,
                        secs,
                        seq,
                    )
                    for seq, (node, outcome, secs) in enumerate(results)
                ],
            )

    def outcomes(self, job_id: int) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT node_id, outcome FROM test_results WHERE job_id = ?", (job_id,)
        )
        return {r["node_id"]: r["outcome"] for r in rows}

    def failing_tests(self, job_id: int) -> tuple[str, ...]:
        rows = self.db.execute(
            "SELECT node_id FROM test_results WHERE job_id = ? AND outcome IN ('failed', 'error')"
            " ORDER BY seq",
            (job_id,),
        )
        return tuple(r["node_id"] for r in rows)

    def failed_earlier_on_this_commit(self, job: Job) -> frozenset[str]:
        rows = self.db.execute(
            "SELECT DISTINCT node_id FROM test_results WHERE repo_id = ? AND check_name = ?"
            " AND head_sha = ? AND job_id != ? AND outcome IN ('failed', 'error')",
            (job.request.repo_id, job.check_name, job.request.head_sha, job.id),
        )
        return frozenset(r["node_id"] for r in rows)

    def flakiness(
        self, job: Job, node_ids: list[str], window: int = 50
    ) -> dict[str, tuple[int, int]]:
        """For each test: (commits on which it both failed and passed, commits it ran on),
        over the repository's last `window` commits of this check."""
        if not node_ids:
            return {}
        marks = ",".join("?" * len(node_ids))
        rows = self.db.execute(
            "SELECT node_id, head_sha,"  # noqa: S608
            " MAX(CASE WHEN outcome IN ('failed', 'error') THEN 1 ELSE 0 END) AS failed,"
            " MAX(CASE WHEN outcome = 'passed' THEN 1 ELSE 0 END) AS passed FROM test_results"
            f" WHERE repo_id = ? AND check_name = ? AND node_id IN ({marks})"
            f" AND head_sha IN (SELECT head_sha FROM jobs WHERE repo_id = ? AND check_name = ?"
            f" GROUP BY head_sha ORDER BY MAX(id) DESC LIMIT ?)"
            f" GROUP BY node_id, head_sha",
            (
                job.request.repo_id,
                job.check_name,
                *node_ids,
                job.request.repo_id,
                job.check_name,
                window,
            ),
        )
        counts: dict[str, tuple[int, int]] = {}
        for row in rows:
            flipped, runs = counts.get(row["node_id"], (0, 0))
            counts[row["node_id"]] = (flipped + int(row["failed"] and row["passed"]), runs + 1)
        return counts
