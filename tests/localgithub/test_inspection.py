"""What a test looks at (app/localgithub/inspection.py): the calls made and those refused,
and snapshots of check runs, pull requests and apps."""

from __future__ import annotations

import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, feature_pr, run


async def test_calls_and_refusals(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    assert gh.refused() == []
    with pytest.raises(gidgethub.BadRequest):
        await api.getitem("/repos/octo-org/hello/branches/main/protection", oauth_token=token)
    # "Not a collaborator" is GitHub's 404 answer, not a refusal.
    with pytest.raises(gidgethub.BadRequest):
        await api.getitem("/repos/octo-org/hello/collaborators/mona/permission", oauth_token=token)
    assert [(c.method, c.path, c.status) for c in gh.refused()] == [
        ("GET", "/repos/octo-org/hello/branches/main/protection", 403)
    ]
    assert [c.status for c in gh.calls[-2:]] == [403, 404]
    assert any(issued.token == token for issued in gh.tokens_issued)


async def test_snapshots(gh: LocalGitHub, world: World, api: GitHubAPI, token: str) -> None:
    pr = await feature_pr(gh, world)
    on_main = await run(api, token, world.sha, conclusion="success")
    on_pr = await run(api, token, pr.head_sha, name="lint", status="in_progress")
    assert [r.id for r in gh.check_runs()] == [on_main["id"], on_pr["id"]]
    assert [r.name for r in gh.check_runs(world.repo, head_sha=pr.head_sha)] == ["lint"]
    assert gh.check_run(on_pr["id"]).status == "in_progress"
    with pytest.raises(KeyError, match="no check run 1"):
        gh.check_run(1)
    assert gh.pull_request(world.repo, pr.number) == pr
    with pytest.raises(KeyError, match="no pull request #9"):
        gh.pull_request(world.repo, 9)
    assert gh.app(world.app.id) == world.app
