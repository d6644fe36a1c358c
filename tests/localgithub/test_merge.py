"""Merging a pull request (app/localgithub/merging.py): the merge endpoint's refusals, a red
pull request refused, and what a merge does when it is allowed. What protection demands is
tested in test_merge_gate.py."""

from __future__ import annotations

import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.conftest import World, feature_pr, installation_token, protection, run
from tests.localgithub.helpers import WebhookReceiver, git

REPO = "/repos/octo-org/hello"


async def merger_token(gh: LocalGitHub, api: GitHubAPI, world: World) -> str:
    """A merge bot: an app with Contents write (Conveyor itself only reads contents)."""
    app = gh.register_app("merge-bot", permissions={**DEFAULT_PERMISSIONS, "contents": "write"})
    installation = await gh.install(app, account="octo-org", repositories=[world.repo])
    return await installation_token(api, app, installation)


async def test_a_failing_required_check_blocks_the_merge(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    pr = await feature_pr(gh, world)
    await gh.protect_branch(
        world.repo, "main", protection({"context": "tests", "app_id": world.app.id})
    )
    merger = await merger_token(gh, api, world)
    url = f"{REPO}/pulls/{pr.number}/merge"
    assert gh.mergeable(pr) == (False, 'Required status check "tests" is expected.')

    started = await run(api, token, pr.head_sha, status="in_progress")
    assert gh.mergeable(pr) == (False, 'Required status check "tests" is in progress.')
    await api.patch(
        f"{REPO}/check-runs/{started['id']}", data={"conclusion": "failure"}, oauth_token=token
    )
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={}, oauth_token=merger)
    assert caught.value.status_code == 405
    assert caught.value.args[0] == 'Required status check "tests" is failing.'
    assert await gh.merge_pull_request(pr) == 'Required status check "tests" is failing.'

    # Another app's green "tests" does not count: the requirement is pinned to Conveyor.
    other = gh.register_app("other-ci")
    other_installation = await gh.install(other, account="octo-org", repositories=[world.repo])
    other_token = await installation_token(api, other, other_installation)
    await run(api, other_token, pr.head_sha, conclusion="success")
    assert gh.mergeable(pr) == (False, 'Required status check "tests" is failing.')

    # The latest run decides: a re-run that passes unblocks the merge.
    await run(api, token, pr.head_sha, conclusion="success")
    assert gh.mergeable(pr) == (True, "")
    before = len(receiver.received)
    merged = await api.put(url, data={"sha": pr.head_sha}, oauth_token=merger)
    assert merged["merged"] is True
    assert merged["message"] == "Pull Request successfully merged"
    await gh.wait_idle()
    main_tip = (await git("rev-parse", "refs/heads/main", cwd=world.repo.bare_path)).stdout
    assert main_tip == merged["sha"]
    parents = (await git("rev-list", "--parents", "-n1", main_tip, cwd=world.repo.bare_path)).stdout
    assert parents.split()[1:] == [world.sha, pr.head_sha]
    after = gh.pull_request(world.repo, pr.number)
    assert (after.state, after.merged, after.merge_commit_sha) == ("closed", True, merged["sha"])
    events = [(r.event, r.action) for r in receiver.received[before:]]
    assert ("pull_request", "closed") in events
    assert ("push", None) in events
    assert ("check_suite", "requested") in events
    [closed] = receiver.of("pull_request", "closed")
    assert closed.payload["pull_request"]["merged"] is True
    assert closed.payload["pull_request"]["merged_by"]["login"] == "merge-bot[bot]"

    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={}, oauth_token=merger)
    assert (caught.value.status_code, caught.value.args[0]) == (
        405,
        "Pull Request is not mergeable",
    )


async def test_merge_endpoint_refusals(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    pr = await feature_pr(gh, world)
    url = f"{REPO}/pulls/{pr.number}/merge"
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={}, oauth_token=token)
    assert (caught.value.status_code, caught.value.args[0]) == (
        403,
        "Resource not accessible by integration",
    )
    merger = await merger_token(gh, api, world)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={"sha": world.sha}, oauth_token=merger)
    assert (caught.value.status_code, caught.value.args[0]) == (
        409,
        "Head branch was modified. Review and try the merge again.",
    )
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={"merge_method": "octopus"}, oauth_token=merger)
    assert caught.value.status_code == 422
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(f"{REPO}/pulls/99/merge", data={}, oauth_token=merger)
    assert caught.value.status_code == 404
    # Unprotected, nothing stops it.
    assert (await api.put(url, data={"merge_method": "merge"}, oauth_token=merger))["merged"]
