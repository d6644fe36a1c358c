"""Fixtures of the tests of app/github: a repository of the local GitHub, and clients of apps
installed on it."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import pytest

from app.github.client import GitHubClient, RetryPolicy
from app.localgithub import LocalGitHub, Repository
from tests.github.installed import Connect, no_wait


@pytest.fixture
async def repo(github: LocalGitHub) -> Repository:
    return await github.create_repository("octo-org", "hello")


@pytest.fixture
async def connect(github: LocalGitHub, repo: Repository, session: aiohttp.ClientSession) -> Connect:
    """A client of a new app with these permissions, installed on the repository."""
    made: list[Mapping[str, str]] = []

    async def make(permissions: Mapping[str, str]) -> tuple[GitHubClient, int]:
        assert github.url is not None
        made.append(permissions)
        app = github.register_app(f"app-{len(made)}", permissions=dict(permissions))
        installation = await github.install(app, account="octo-org", repositories=[repo])
        client = GitHubClient(
            session,
            api_url=github.url,
            app_id=str(app.id),
            private_key=app.private_key_pem,
            policy=RetryPolicy(attempts=1),
            sleep=no_wait,
        )
        return client, installation

    return make
