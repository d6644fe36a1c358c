"""GitHub Apps as their owners and installers handle them (app/localgithub/steps_apps.py):
registering, changing permissions (kept by installations until accepted), installing."""

from __future__ import annotations

import pytest
from gidgethub import apps
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.conftest import World, installation_token, refused


async def test_registering_an_app(gh: LocalGitHub) -> None:
    app = gh.register_app("My CI!")
    assert (app.slug, app.name, app.owner) == ("my-ci", "My CI!", "octocat")
    assert app.private_key_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1
    assert app.client_id.startswith("Iv23li")
    assert app.external_url == "https://my-ci.example"
    assert gh.app(app.id) == app
    with pytest.raises(ValueError, match="already exists"):
        gh.register_app("my ci")


async def test_new_permissions_wait_for_the_installations_owner(
    gh: LocalGitHub, world: World, api: GitHubAPI
) -> None:
    wider = {**DEFAULT_PERMISSIONS, "administration": "write"}
    gh.set_app_permissions(world.app, wider)
    jwt = apps.get_jwt(app_id=str(world.app.id), private_key=world.app.private_key_pem)
    url = f"/app/installations/{world.installation_id}"
    assert (await api.getitem("/app", jwt=jwt))["permissions"] == wider
    assert (await api.getitem(url, jwt=jwt))["permissions"] == dict(DEFAULT_PERMISSIONS)
    gh.accept_new_permissions(world.installation_id)
    assert (await api.getitem(url, jwt=jwt))["permissions"] == wider
    # A token issued now carries them: it may read the branch protection.
    token = await installation_token(api, world.app, world.installation_id)
    error = await refused(
        api.getitem("/repos/octo-org/hello/branches/main/protection", oauth_token=token)
    )
    assert (error.status_code, error.args[0]) == (404, "Branch not protected")


async def test_an_installation_takes_only_the_accounts_repositories(
    gh: LocalGitHub, world: World
) -> None:
    app = gh.register_app("other-ci")
    elsewhere = await gh.create_repository("mona", "mine")
    with pytest.raises(ValueError, match="does not belong to octo-org"):
        await gh.install(app, account="octo-org", repositories=[world.repo, elsewhere])
    moved = gh.set_webhook_url(app, "http://127.0.0.1:9/hook")
    assert moved.webhook_url == "http://127.0.0.1:9/hook"
    assert gh.app(app.id).webhook_url == "http://127.0.0.1:9/hook"
