"""Pull requests as people open, close, reopen and merge them
(app/localgithub/steps_pulls.py)."""

from __future__ import annotations

import pytest

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, feature_pr
from tests.localgithub.helpers import WebhookReceiver


async def test_pull_request_needs_existing_branches(world: World, gh: LocalGitHub) -> None:
    with pytest.raises(ValueError, match="no branch"):
        await gh.open_pull_request(world.repo, head="nope")
    await gh.push(world.repo, world.work, "same")
    with pytest.raises(ValueError, match="No commits between"):
        await gh.open_pull_request(world.repo, head="same")


async def test_close_and_reopen(world: World, gh: LocalGitHub, receiver: WebhookReceiver) -> None:
    pr = await feature_pr(gh, world)
    closed = await gh.close_pull_request(pr, sender="mona")
    assert (closed.state, closed.merged) == ("closed", False)
    [sent] = receiver.of("pull_request", "closed")
    assert sent.payload["sender"]["login"] == "mona"
    with pytest.raises(ValueError, match="is not open"):
        await gh.close_pull_request(pr)
    reopened = await gh.reopen_pull_request(pr)
    assert reopened.state == "open"
    assert len(receiver.of("pull_request", "reopened")) == 1
    with pytest.raises(ValueError, match="is not closed"):
        await gh.reopen_pull_request(pr)
    await gh.close_pull_request(pr)
    await gh.delete_branch(world.repo, "feature")
    with pytest.raises(ValueError, match="no longer exists"):
        await gh.reopen_pull_request(pr)


async def test_nothing_stops_a_merge_on_an_unprotected_branch(
    world: World, gh: LocalGitHub
) -> None:
    pr = await feature_pr(gh, world)
    assert gh.mergeable(pr) == (True, "")
    assert await gh.merge_pull_request(pr, by="mona") is True
    merged = gh.pull_request(world.repo, pr.number)
    assert (merged.state, merged.merged) == ("closed", True)
    assert gh.mergeable(merged) == (False, "Pull Request is not mergeable")
