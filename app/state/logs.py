"""Each run's log (the `job_logs` table), in the order it was written: the web process shows it,
wherever the job ran. Only the latest attempt of a job is shown."""

from __future__ import annotations

from app.state.database import Database, WriteError
from app.state.jobs import FINISHED


def omitted_marker(count: int) -> bytes:
    """The line that stands for output the log's cap dropped."""
    return f"… {count} bytes omitted …\n".encode()


class JobLogs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, job_id: int, start: int, data: bytes, *, attempt: int) -> None:
        """Add the log's bytes from `start` on (again after a retry: the same bytes, kept once).

        Only the job's current attempt is shown; a chunk a later attempt wrote at the same
        place wins, and a late chunk of an earlier attempt (its process taken for dead but
        still going) never replaces one of a later attempt."""
        try:
            self.db.execute(
                "INSERT INTO job_logs (job_id, start, data, attempt) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (job_id, start) DO UPDATE SET data = excluded.data,"
                " attempt = excluded.attempt"
                " WHERE COALESCE(job_logs.attempt, 0) < excluded.attempt",
                (job_id, start, data, attempt),
            )
        except self.db.write_errors as error:
            raise WriteError(str(error)) from error

    def trim(self, job_id: int, attempt: int, start: int, end: int) -> None:
        """Drop the chunks starting in [start, end): output the log's cap left out, between
        its head and its tail."""
        try:
            self.db.execute(
                "DELETE FROM job_logs WHERE job_id = ? AND attempt = ? AND start >= ?"
                " AND start < ?",
                (job_id, attempt, start, end),
            )
        except self.db.write_errors as error:
            raise WriteError(str(error)) from error

    def forget_finished_before(self, finished_before: float) -> None:
        """Drop the logs of runs finished before `finished_before` (a time): capped as each
        is, they would still add up without end. Verdicts and results stay."""
        self.db.execute(
            "DELETE FROM job_logs WHERE job_id IN"
            " (SELECT id FROM jobs WHERE state = ? AND finished_at < ?)",
            (FINISHED, finished_before),
        )

    def read(self, job_id: int, offset: int = 0) -> tuple[bytes, int]:
        """The current attempt's log from `offset` on, and the size of all of its output.

        Output the cap dropped (a gap between chunks) is shown by one line saying how much."""
        offset = min(offset, 2**62)  # a page asking past any log; databases stop at 2**63
        current = "(attempt IS NULL OR attempt = (SELECT attempts FROM jobs WHERE id = ?))"
        # From the chunk that holds `offset` on: a page polling a long log reads only the end.
        rows = self.db.execute(
            f"SELECT start, data FROM job_logs WHERE job_id = ? AND {current}"  # noqa: S608
            " AND start >= COALESCE((SELECT MAX(start) FROM job_logs WHERE job_id = ?"
            f" AND {current} AND start <= ?), 0) ORDER BY start",
            (job_id, job_id, job_id, job_id, offset),
        ).fetchall()
        have, size, parts = offset, 0, list[bytes]()
        for row in rows:
            start, data = row["start"], bytes(row["data"])
            size = max(size, start + len(data))
            if start + len(data) <= have:
                continue
            if start > have:
                before = b"\n" if parts and not parts[-1].endswith(b"\n") else b""
                parts.append(before + omitted_marker(start - have))
            parts.append(data[max(0, have - start) :])
            have = start + len(data)
        return b"".join(parts), size
