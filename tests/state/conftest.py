"""The state's tables on a real SQLite file and a real PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.state import State
from app.state.database import Database, open_database
from app.state.jobs import JobQueue


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conveyor.sqlite3"


@pytest.fixture
def open_db(database_url: str | None, db_path: Path) -> Callable[[], Database]:
    """A new connection to the test's database, on each backend."""
    return lambda: open_database(database_url, db_path.parent)


@pytest.fixture
def state(open_db: Callable[[], Database]) -> Iterator[State]:
    opened = State.on(open_db())
    yield opened
    opened.close()


@pytest.fixture
def queue(state: State) -> JobQueue:
    return state.jobs
