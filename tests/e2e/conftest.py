from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import Harness, watched


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is end to end, so `-m e2e` (or `-m "not e2e"`) selects this tier
    without each module having to say so."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
async def harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None
) -> AsyncIterator[Harness]:
    """The service watching one repository, on SQLite and on PostgreSQL; afterwards, GitHub
    must have refused nothing."""
    async with watched(Harness(github, tmp_path, database_url)) as world:
        yield world
