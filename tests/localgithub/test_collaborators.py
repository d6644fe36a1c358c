"""Who may do what in a repository (`GET .../collaborators/{username}/permission`) and
reactions to issue comments, with the permissions GitHub asks of an app for each."""

from __future__ import annotations

import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.conftest import World, installation_token
from tests.localgithub.test_comments import REPO, feature_pr


def permission_url(login: str) -> str:
    return f"{REPO}/collaborators/{login}/permission"


@pytest.mark.parametrize(
    ("role", "legacy", "push"),
    [
        ("admin", "admin", True),
        ("maintain", "write", True),
        ("write", "write", True),
        ("triage", "read", False),
        ("read", "read", False),
    ],
)
async def test_a_collaborators_permission_shows_the_legacy_role_and_the_role(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str, role: str, legacy: str, push: bool
) -> None:
    gh.add_collaborator(world.repo, "Mona", role)
    answer = await api.getitem(permission_url("mona"), oauth_token=token)
    assert answer["permission"] == legacy
    assert answer["role_name"] == role
    assert answer["user"]["login"] == "Mona"
    assert answer["user"]["permissions"]["push"] is push


async def test_someone_who_is_not_a_collaborator_is_404(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    await gh.comment(await feature_pr(gh, world), "hi", author="stranger")  # a known user
    for login in ("stranger", "nobody-at-all"):
        with pytest.raises(gidgethub.BadRequest) as caught:
            await api.getitem(permission_url(login), oauth_token=token)
        assert caught.value.status_code == 404


async def test_the_owner_of_a_users_repository_is_its_admin(
    gh: LocalGitHub, api: GitHubAPI, world: World
) -> None:
    installation = await gh.install(world.app, account="mona", account_type="User")
    repo = await gh.create_repository("mona", "own", installation_id=installation)
    assert repo.full_name == "mona/own"
    mona_token = await installation_token(api, world.app, installation)
    answer = await api.getitem(
        "/repos/mona/own/collaborators/mona/permission", oauth_token=mona_token
    )
    assert (answer["permission"], answer["role_name"]) == ("admin", "admin")


async def test_the_permission_needs_metadata_read_and_an_installation_token(
    gh: LocalGitHub, world: World, api: GitHubAPI
) -> None:
    gh.add_collaborator(world.repo, "mona")
    bare = gh.register_app("bare", permissions={"checks": "write"})
    installation = await gh.install(bare, account="octo-org", repositories=[world.repo])
    bare_token = await installation_token(api, bare, installation)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.getitem(permission_url("mona"), oauth_token=bare_token)
    assert caught.value.status_code == 403


async def test_reactions_to_a_comment_on_a_pull_request(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    pr = await feature_pr(gh, world)
    comment = await gh.comment(pr, "/conveyor run", author="mona")
    url = f"{REPO}/issues/comments/{comment.id}/reactions"
    # Conveyor's permissions include Pull requests write: enough for a pull request's comment.
    assert DEFAULT_PERMISSIONS["pull_requests"] == "write"
    made = await api.post(url, data={"content": "-1"}, oauth_token=token)
    assert made["content"] == "-1"
    assert made["user"]["login"] == "conveyor[bot]"
    again = await api.post(url, data={"content": "-1"}, oauth_token=token)
    assert again["id"] == made["id"]  # the same reaction: GitHub answers 200 with it
    await api.post(url, data={"content": "confused"}, oauth_token=token)
    assert gh.reactions(comment) == [("-1", "conveyor[bot]"), ("confused", "conveyor[bot]")]

    for body, problem in (
        ({}, '"content" wasn\'t supplied.'),
        ({"content": "thumbs-down"}, "is not one of"),
    ):
        with pytest.raises(gidgethub.BadRequest) as caught:
            await api.post(url, data=body, oauth_token=token)
        assert caught.value.status_code == 422
        assert problem in caught.value.args[0]
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.post(
            f"{REPO}/issues/comments/999/reactions", data={"content": "-1"}, oauth_token=token
        )
    assert caught.value.status_code == 404


async def test_reacting_needs_issues_or_pull_requests_write(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    pr = await feature_pr(gh, world)
    on_pull = await gh.comment(pr, "/conveyor run", author="mona")
    issue = await gh.open_issue(world.repo, "Plain")
    on_issue = await gh.comment(issue, "hello", author="mona")
    reader = gh.register_app("reader", permissions={**DEFAULT_PERMISSIONS, "pull_requests": "read"})
    installation = await gh.install(reader, account="octo-org", repositories=[world.repo])
    reader_token = await installation_token(api, reader, installation)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.post(
            f"{REPO}/issues/comments/{on_pull.id}/reactions",
            data={"content": "-1"},
            oauth_token=reader_token,
        )
    assert caught.value.status_code == 403
    # Pull requests write does not reach a plain issue's comments.
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.post(
            f"{REPO}/issues/comments/{on_issue.id}/reactions",
            data={"content": "-1"},
            oauth_token=token,
        )
    assert caught.value.status_code == 403
    assert gh.reactions(on_pull) == gh.reactions(on_issue) == []
