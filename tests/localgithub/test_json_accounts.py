"""People, apps and installations as GitHub's JSON shows them
(app/localgithub/json_accounts.py), through GET /app and GET /app/installations/{id}."""

from __future__ import annotations

from gidgethub import apps
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.steps_apps import DEFAULT_EVENTS, DEFAULT_PERMISSIONS
from tests.localgithub.conftest import World


async def test_the_app_and_its_installation(api: GitHubAPI, gh: LocalGitHub, world: World) -> None:
    jwt = apps.get_jwt(app_id=str(world.app.id), private_key=world.app.private_key_pem)
    app = await api.getitem("/app", jwt=jwt)
    assert (app["id"], app["slug"], app["name"]) == (world.app.id, "conveyor", "conveyor")
    assert app["client_id"] == world.app.client_id
    assert app["owner"]["login"] == world.app.owner
    assert app["owner"]["url"] == f"{gh.url}/users/{world.app.owner}"
    assert app["html_url"] == f"{gh.url}/apps/conveyor"
    assert app["permissions"] == dict(DEFAULT_PERMISSIONS)
    assert app["events"] == list(DEFAULT_EVENTS)

    installation = await api.getitem(f"/app/installations/{world.installation_id}", jwt=jwt)
    assert installation["id"] == world.installation_id
    assert (installation["app_id"], installation["app_slug"]) == (world.app.id, "conveyor")
    account = installation["account"]
    assert (account["login"], account["type"]) == ("octo-org", "Organization")
    assert installation["target_type"] == "Organization"
    assert installation["target_id"] == account["id"]
    assert installation["permissions"] == dict(DEFAULT_PERMISSIONS)
    assert installation["access_tokens_url"] == (
        f"{gh.url}/app/installations/{world.installation_id}/access_tokens"
    )
    assert installation["suspended_at"] is None
