"""What the scenario steps share (app/localgithub/steps_common.py): who acts when a step names
no one, and the handed-out values a step takes back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import SECRET, World, feature_pr
from tests.localgithub.helpers import WebhookReceiver, commit, git, new_worktree


async def test_who_pushes_when_no_one_is_named(
    gh: LocalGitHub, world: World, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # An organisation's repository: octocat acts for it.
    [push] = receiver.of("push")
    assert push.payload["sender"]["login"] == "octocat"
    await git("checkout", "-q", "-b", "named", cwd=world.work)
    await commit(world.work, {"x.txt": "x\n"}, "x")
    await gh.push(world.repo, world.work, "named", sender="mona")
    assert receiver.of("push")[-1].payload["sender"]["login"] == "mona"

    # A user's repository: its owner acts.
    app = gh.register_app("solo-ci", webhook_url=receiver.url, webhook_secret=SECRET)
    installation = await gh.install(app, account="hubot", account_type="User")
    repo = await gh.create_repository("hubot", "solo", installation_id=installation)
    work = await new_worktree(tmp_path / "solo")
    await commit(work, {"a": "a\n"}, "a")
    await gh.push(repo, work)
    assert receiver.of("push")[-1].payload["sender"]["login"] == "hubot"


async def test_a_value_the_emulator_never_handed_out_is_not_found(
    gh: LocalGitHub, world: World, tmp_path: Path
) -> None:
    pr = await feature_pr(gh, world)
    with pytest.raises(KeyError, match="no pull request #99"):
        await gh.close_pull_request(dataclasses.replace(pr, number=99))
    async with LocalGitHub(tmp_path / "other") as other:
        with pytest.raises(KeyError):
            other.branch_protection(world.repo, "main")
