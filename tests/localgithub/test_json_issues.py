"""Pull requests, issues and comments as GitHub's JSON shows them
(app/localgithub/json_issues.py): GET .../pulls/{n} and the comments API."""

from __future__ import annotations

from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, feature_pr

REPO = "/repos/octo-org/hello"


async def test_a_pull_request(api: GitHubAPI, gh: LocalGitHub, world: World, token: str) -> None:
    pr = await feature_pr(gh, world)
    got = await api.getitem(f"{REPO}/pulls/{pr.number}", oauth_token=token)
    assert (got["id"], got["number"], got["title"]) == (pr.id, pr.number, "A feature")
    assert got["head"]["label"] == "octo-org:feature"
    assert (got["base"]["ref"], got["base"]["repo"]["full_name"]) == ("main", "octo-org/hello")
    assert got["html_url"] == f"{gh.url}/octo-org/hello/pull/{pr.number}"
    # Its author pushed to the organisation's repository itself: a member.
    assert got["author_association"] == "MEMBER"
    assert (got["merged"], got["merged_by"], got["comments"]) == (False, None, 0)


async def test_comments_on_an_issue(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    issue = await gh.open_issue(world.repo, "Broken")
    comment = await gh.comment(issue, "It is", author="mona", author_association="NONE")
    [got] = await api.getitem(f"{REPO}/issues/{issue.number}/comments", oauth_token=token)
    assert (got["id"], got["body"], got["user"]["login"]) == (comment.id, "It is", "mona")
    assert got["author_association"] == "NONE"
    assert got["issue_url"] == f"{gh.url}{REPO}/issues/{issue.number}"
    assert got["html_url"] == (
        f"{gh.url}/octo-org/hello/issues/{issue.number}#issuecomment-{comment.id}"
    )
    assert got["reactions"]["total_count"] == 0
    assert got["performed_via_github_app"] is None
