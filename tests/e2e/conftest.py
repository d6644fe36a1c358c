from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import Harness, watched


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fresh_environments: the service starts with no installed environment and no download "
        "cache (for tests of building them, and of what one run may leave to the next)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is end to end, so `-m e2e` (or `-m "not e2e"`) selects this tier
    without each module having to say so."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def session_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Installed environments and downloads kept for the whole session (see
    Harness.share_caches): most tests are not about building an environment, and building the
    same one anew for each of them was most of their time."""
    return tmp_path_factory.mktemp("caches")


@pytest.fixture
def caches(request: pytest.FixtureRequest, session_caches: Path) -> Path | None:
    """The session's caches, or None (empty ones) for a test marked `fresh_environments`."""
    if request.node.get_closest_marker("fresh_environments"):
        return None
    return session_caches


@pytest.fixture
async def harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None, caches: Path | None
) -> AsyncIterator[Harness]:
    """The service watching one repository, on SQLite and on PostgreSQL; afterwards, GitHub
    must have refused nothing."""
    async with watched(Harness(github, tmp_path, database_url, caches=caches)) as world:
        yield world
