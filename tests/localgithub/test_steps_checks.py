"""The buttons of the checks page (app/localgithub/steps_checks.py): when GitHub offers a
re-run or an action, and the webhooks each click sends."""

from __future__ import annotations

import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World
from tests.localgithub.helpers import WebhookReceiver

RUNS = "/repos/octo-org/hello/check-runs"


async def test_ui_rerun_and_action_buttons(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    actions = [{"label": "Fix it", "description": "Apply the fix", "identifier": "fix"}]
    running = await api.post(
        RUNS,
        data={"name": "tests", "head_sha": world.sha, "status": "in_progress", "actions": actions},
        oauth_token=token,
    )
    with pytest.raises(ValueError, match="only finished runs"):
        await gh.rerequest_check_run(running["id"])
    with pytest.raises(ValueError, match="completed"):
        await gh.request_action(running["id"], "fix")
    with pytest.raises(ValueError, match="still running"):
        await gh.rerequest_check_suite(world.repo, world.sha)

    await api.patch(f"{RUNS}/{running['id']}", data={"conclusion": "success"}, oauth_token=token)
    with pytest.raises(ValueError, match="succeeded"):
        await gh.rerequest_check_run(running["id"])
    [forced] = await gh.rerequest_check_run(running["id"], force=True)
    assert forced.status == 202
    assert forced.payload()["action"] == "rerequested"

    with pytest.raises(ValueError, match="no action"):
        await gh.request_action(running["id"], "nope")
    [clicked] = await gh.request_action(running["id"], "fix")
    assert clicked.payload()["requested_action"] == {"identifier": "fix"}

    [again] = await gh.rerequest_check_suite(world.repo, world.sha)
    assert again.event == "check_suite"
    assert again.payload()["action"] == "rerequested"
    assert again.payload()["check_suite"]["head_sha"] == world.sha
    assert again.payload()["sender"]["type"] != "Bot"


async def test_rerun_failed_checks(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    with pytest.raises(ValueError, match="no failed"):
        await gh.rerequest_failed_checks(world.repo, world.sha)
    for name, conclusion in (("tests", "failure"), ("lint", "success"), ("docs", "timed_out")):
        await api.post(
            RUNS,
            data={"name": name, "head_sha": world.sha, "conclusion": conclusion},
            oauth_token=token,
        )
    deliveries = await gh.rerequest_failed_checks(world.repo, world.sha)
    names = [d.payload()["check_run"]["name"] for d in deliveries]
    assert names == ["tests", "docs"]
    assert all(d.payload()["action"] == "rerequested" for d in deliveries)
