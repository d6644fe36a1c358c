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
def session_caches(tmp_path_factory: pytest.TempPathFactory, venv_templates: Path) -> Path:
    """Installed environments and downloads kept for the whole session (see
    Harness.share_caches): most tests are not about building an environment, and building the
    same one anew for each of them was most of their time."""
    caches = tmp_path_factory.mktemp("caches")
    _share_venv_templates(caches, venv_templates)
    return caches


@pytest.fixture
def caches(
    request: pytest.FixtureRequest, session_caches: Path, venv_templates: Path, tmp_path: Path
) -> Path:
    """The session's caches; for a test marked `fresh_environments`, empty ones of its own but
    for the venv templates, which only the service makes, never a run (see
    app/suite/venv_templates.py)."""
    if not request.node.get_closest_marker("fresh_environments"):
        return session_caches
    own = tmp_path / "fresh-caches"
    _share_venv_templates(own, venv_templates)
    return own


def _share_venv_templates(caches: Path, venv_templates: Path) -> None:
    (caches / "environments").mkdir(parents=True)
    (caches / "environments" / ".venvs").symlink_to(venv_templates, target_is_directory=True)


@pytest.fixture
async def harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None, caches: Path
) -> AsyncIterator[Harness]:
    """The service watching one repository, on SQLite and on PostgreSQL; afterwards, GitHub
    must have refused nothing."""
    async with watched(Harness(github, tmp_path, database_url, caches=caches)) as world:
        yield world
