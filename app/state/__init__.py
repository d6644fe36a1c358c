"""The service's state, in SQLite (one machine) or PostgreSQL (`DATABASE_URL`, several).

One owner per table: only `jobs` writes `jobs`, only `deliveries` writes `deliveries`, and so
on (schema.py lists them); `database` holds the SQL dialects. `State` is them all, opened on one
database, as the service and the tests open it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.state import schema
from app.state.database import Database, open_database
from app.state.deliveries import Deliveries
from app.state.installations import Installations
from app.state.job_history import JobHistory
from app.state.jobs import JobQueue
from app.state.logs import JobLogs
from app.state.presence import Processes
from app.state.test_history import TestHistory


@dataclass(frozen=True)
class State:
    db: Database
    jobs: JobQueue
    deliveries: Deliveries
    installations: Installations
    history: TestHistory
    logs: JobLogs
    processes: Processes
    runs: JobHistory  # the jobs read for people: pages, badges

    @classmethod
    def on(cls, db: Database) -> State:
        """Every table's owner on `db`, whose schema is made (or brought up to date) first."""
        schema.create(db)
        return cls(
            db,
            JobQueue(db),
            Deliveries(db),
            Installations(db),
            TestHistory(db),
            JobLogs(db),
            Processes(db),
            JobHistory(db),
        )

    def close(self) -> None:
        self.db.close()


def open_state(url: str | None, data_dir: Path) -> State:
    """PostgreSQL when `url` is given, else SQLite in the data folder."""
    return State.on(open_database(url, data_dir))
