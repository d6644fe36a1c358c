"""Issues, comments and collaborators as people make them (app/localgithub/steps_issues.py)."""

from __future__ import annotations

import dataclasses

import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, feature_pr


async def test_issues_and_pull_requests_share_numbers(gh: LocalGitHub, world: World) -> None:
    first = await gh.open_issue(world.repo, "Broken", author="mona")
    pr = await feature_pr(gh, world)
    second = await gh.open_issue(world.repo, "Still broken")
    assert (first.number, pr.number, second.number) == (1, 2, 3)
    assert (first.author, second.author) == ("mona", "octocat")  # for the organisation


async def test_comments_read_back_oldest_first(gh: LocalGitHub, world: World) -> None:
    issue = await gh.open_issue(world.repo, "Broken")
    await gh.comment(issue, "first")
    await gh.comment(issue, "second", author="mona", author_association="NONE")
    assert [(c.body, c.author) for c in gh.comments(issue)] == [
        ("first", "octocat"),
        ("second", "mona"),
    ]
    with pytest.raises(KeyError, match="no issue #7"):
        gh.comments(dataclasses.replace(issue, number=7))


async def test_collaborators(gh: LocalGitHub, world: World, api: GitHubAPI, token: str) -> None:
    with pytest.raises(ValueError, match="no such role"):
        gh.add_collaborator(world.repo, "mona", "owner")
    gh.add_collaborator(world.repo, "Mona", "maintain")
    got = await api.getitem(
        "/repos/octo-org/hello/collaborators/mona/permission", oauth_token=token
    )
    assert got["role_name"] == "maintain"
