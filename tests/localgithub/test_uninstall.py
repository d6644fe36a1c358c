"""`DELETE /app/installations/{id}`: the app uninstalls itself from an account, as GitHub
documents it (JWT only, 404 for an installation it does not have, 204), and a second account
with a repository of its own."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import gidgethub
import pytest
from gidgethub import apps
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import GitHubApp, LocalGitHub
from tests.localgithub.conftest import World, installation_token
from tests.localgithub.helpers import WebhookReceiver, commit, new_worktree


def app_jwt(app: GitHubApp) -> str:
    return apps.get_jwt(app_id=str(app.id), private_key=app.private_key_pem)


async def test_an_installation_token_may_not_uninstall(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.delete(f"/app/installations/{world.installation_id}", oauth_token=token)
    assert caught.value.status_code == 401
    assert str(caught.value) == "A JSON web token could not be decoded"
    # Nor can anyone without credentials.
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.delete(f"/app/installations/{world.installation_id}")
    assert caught.value.status_code == 401
    installation = await api.getitem(
        f"/app/installations/{world.installation_id}", jwt=app_jwt(world.app)
    )
    assert installation["account"]["login"] == "octo-org"


async def test_an_installation_the_app_does_not_have_is_404(
    api: GitHubAPI, gh: LocalGitHub, world: World
) -> None:
    for missing in ("12345", "nope"):
        with pytest.raises(gidgethub.BadRequest) as caught:
            await api.delete(f"/app/installations/{missing}", jwt=app_jwt(world.app))
        assert caught.value.status_code == 404
    # Another app's JWT does not reach this app's installation.
    other = gh.register_app("other")
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.delete(f"/app/installations/{world.installation_id}", jwt=app_jwt(other))
    assert caught.value.status_code == 404


async def test_uninstalling_answers_204_removes_the_installation_and_tells_the_app(
    api: GitHubAPI,
    session: aiohttp.ClientSession,
    gh: LocalGitHub,
    world: World,
    receiver: WebhookReceiver,
    token: str,
) -> None:
    assert gh.url is not None
    url = f"{gh.url}/app/installations/{world.installation_id}"
    headers = {"Authorization": f"Bearer {app_jwt(world.app)}", "Accept": "application/json"}
    async with session.delete(url, headers=headers) as response:
        assert response.status == 204
        assert await response.read() == b""
    await gh.wait_idle()
    deleted = receiver.received[-1]
    assert (deleted.event, deleted.action) == ("installation", "deleted")
    assert deleted.signature_ok
    assert deleted.payload["installation"]["id"] == world.installation_id
    assert deleted.payload["installation"]["account"]["login"] == "octo-org"
    assert deleted.payload["repositories"][0]["full_name"] == "octo-org/hello"
    assert deleted.payload["sender"]["login"] == "conveyor[bot]"

    # Gone: not shown, not uninstallable twice, no tokens, and its tokens stop working.
    jwt = app_jwt(world.app)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.getitem(f"/app/installations/{world.installation_id}", jwt=jwt)
    assert caught.value.status_code == 404
    assert [item async for item in api.getiter("/app/installations", jwt=jwt)] == []
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.delete(f"/app/installations/{world.installation_id}", jwt=jwt)
    assert caught.value.status_code == 404
    with pytest.raises(gidgethub.BadRequest) as caught:
        await installation_token(api, world.app, world.installation_id)
    assert caught.value.status_code == 404
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.getitem("/repos/octo-org/hello", oauth_token=token)
    assert caught.value.status_code == 401
    # A push to the repository no longer reaches the app.
    seen = len(receiver.received)
    await commit(world.work, {"more.txt": "more\n"}, "More")
    await gh.push(world.repo, world.work)
    await gh.wait_idle()
    assert len(receiver.received) == seen


async def test_a_second_account_installs_the_app_with_a_repository_of_its_own(
    api: GitHubAPI, gh: LocalGitHub, world: World, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    mallory = await gh.install(world.app, account="mallory", account_type="User")
    repo = await gh.create_repository("mallory", "evil", installation_id=mallory)
    work = await new_worktree(tmp_path / "mallory")
    await commit(work, {"README.md": "hi\n"}, "Initial")
    sha = await gh.push(repo, work)
    events = [(r.event, r.action, r.payload["installation"]["id"]) for r in receiver.received[-4:]]
    assert events == [
        ("installation", "created", mallory),
        ("installation_repositories", "added", mallory),
        ("push", None, mallory),
        ("check_suite", "requested", mallory),
    ]
    push = receiver.received[-2].payload
    assert push["repository"]["owner"]["login"] == "mallory"
    assert push["after"] == sha
    assert "organization" not in push  # a user's repository
    assert receiver.received[-4].payload["installation"]["account"]["type"] == "User"
    # The app's two installations, each on its own account.
    listed = [item async for item in api.getiter("/app/installations", jwt=app_jwt(world.app))]
    assert [(item["id"], item["account"]["login"]) for item in listed] == [
        (world.installation_id, "octo-org"),
        (mallory, "mallory"),
    ]
