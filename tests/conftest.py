from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from app.localgithub import LocalGitHub
from tests.postgres import NOT_INSTALLED, PostgresNotInstalled, PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, started only if some test asks for it."""
    root = Path(tempfile.mkdtemp(prefix="conveyor-pg-"))
    try:
        server = PostgresServer.start(root)
    except PostgresNotInstalled:
        shutil.rmtree(root, ignore_errors=True)
        # In CI a missing server is a broken setup, not a reason to pass with fewer tests.
        if os.environ.get("CI"):
            pytest.fail(NOT_INSTALLED, pytrace=False)
        pytest.skip(NOT_INSTALLED)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database of its own, dropped after the test."""
    name = f"t_{uuid.uuid4().hex}"
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "databases(*backends): the backends a test runs on, over its module's DATABASES",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses the database runs on each backend, unless its module names the ones that
    matter to it (`DATABASES = ("sqlite",)`: what it tests happens outside the database), or the
    test itself does (`@pytest.mark.databases("sqlite", "postgresql")`, in a module of SQLite
    tests, for the one whose behaviour is the database's)."""
    if "database_url" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("databases")
        backends = marker.args if marker else getattr(metafunc.module, "DATABASES", BACKENDS)
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None means SQLite in the data folder, else PostgreSQL (see pytest_generate_tests)."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def venv_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's venv templates (app/suite/venv_templates.py): one fresh venv made per
    interpreter, not one per test. A template is made by the service alone, never by a run, so
    sharing it changes nothing a test sees; tests/suite/test_venv_templates.py makes its own."""
    return tmp_path_factory.mktemp("venv-templates")


@pytest.fixture
async def github(tmp_path: Path) -> AsyncIterator[LocalGitHub]:
    """The local GitHub, started on 127.0.0.1 for one test."""
    local = LocalGitHub(tmp_path / "github")
    await local.start()
    yield local
    await local.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
