"""LocalGitHub's lifecycle (app/localgithub/local.py): starting, serving, waiting for queued
webhooks, stopping."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, run
from tests.localgithub.helpers import WebhookReceiver


async def test_start_serve_and_stop(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    gh = LocalGitHub(tmp_path / "github")
    assert gh.url is None
    async with gh:
        assert gh.url is not None
        assert gh.url.startswith("http://127.0.0.1:")
        assert (tmp_path / "github").is_dir()
        with pytest.raises(RuntimeError, match="already started"):
            await gh.start()
        async with session.get(f"{gh.url}/app") as response:
            assert response.status == 401
            assert (await response.json())["message"] == "Requires authentication"
        url = gh.url
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.get(f"{url}/app"):
            pass


async def test_wait_idle_waits_for_the_webhooks_api_calls_queue(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str, receiver: WebhookReceiver
) -> None:
    # An API call returns before the webhooks it causes are sent; wait_idle waits for them.
    await run(api, token, world.sha, conclusion="success")
    await gh.wait_idle()
    assert [action for event, action in receiver.events() if event == "check_run"] == [
        "created",
        "completed",
    ]
