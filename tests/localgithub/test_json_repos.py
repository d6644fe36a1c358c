"""Repositories, commits and changed files as GitHub's JSON shows them
(app/localgithub/json_repos.py): GET /repos/{owner}/{repo}, and the commits of a comparison."""

from __future__ import annotations

from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World
from tests.localgithub.helpers import commit, git

REPO = "/repos/octo-org/hello"


async def test_a_repository(api: GitHubAPI, gh: LocalGitHub, world: World, token: str) -> None:
    repo = await api.getitem(REPO, oauth_token=token)
    assert (repo["id"], repo["name"], repo["full_name"]) == (
        world.repo.id,
        "hello",
        "octo-org/hello",
    )
    assert (repo["owner"]["login"], repo["owner"]["type"]) == ("octo-org", "Organization")
    assert repo["private"] is True
    assert repo["fork"] is False
    assert repo["default_branch"] == "main"
    assert repo["clone_url"] == world.repo.clone_url
    assert repo["html_url"] == f"{gh.url}/octo-org/hello"
    assert "Codertocat" not in str(repo)  # nothing of the example's sample people


async def test_the_commits_of_a_comparison(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    await git("checkout", "-q", "-b", "feature", cwd=world.work)
    head = await commit(world.work, {"new.txt": "new\n"}, "Add new.txt")
    await gh.push(world.repo, world.work, "feature")
    compared = await api.getitem(f"{REPO}/compare/main...feature", oauth_token=token)
    [entry] = compared["commits"]
    assert entry["sha"] == head
    assert entry["commit"]["message"] == "Add new.txt"
    assert entry["commit"]["verification"]["verified"] is False
    assert entry["parents"] == [
        {
            "sha": world.sha,
            "url": f"{gh.url}{REPO}/commits/{world.sha}",
            "html_url": f"{gh.url}/octo-org/hello/commit/{world.sha}",
        }
    ]
    assert (entry["author"], entry["committer"]) == (None, None)  # no account matched
    [changed] = compared["files"]
    assert (changed["filename"], changed["status"], changed["additions"]) == (
        "new.txt",
        "added",
        1,
    )
