from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import Harness, watched


@pytest.fixture
async def harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None
) -> AsyncIterator[Harness]:
    """The service watching one repository, on SQLite and on PostgreSQL; afterwards, GitHub
    must have refused nothing."""
    async with watched(Harness(github, tmp_path, database_url)) as world:
        yield world
