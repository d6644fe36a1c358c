from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import Harness


@pytest.fixture
async def github(tmp_path: Path) -> AsyncIterator[LocalGitHub]:
    local = LocalGitHub(tmp_path / "github")
    await local.start()
    yield local
    await local.stop()


@pytest.fixture
async def harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None
) -> AsyncIterator[Harness]:
    """The service watching one repository, on SQLite and on PostgreSQL; afterwards, GitHub
    must have refused nothing."""
    world = Harness(github, tmp_path, database_url)
    await world.setup()
    try:
        yield world
    finally:
        world.stop()
    refused = [
        (c.method, c.path, c.status, c.response_json)
        for c in github.refused()
        if not c.fault_injected  # the faults a test asked for are not the service's doing
    ]
    assert refused == [], f"the local GitHub refused calls:\n{refused}\n{world.logs()}"
