"""Webhook bodies (app/localgithub/payloads.py): every key of GitHub's example for the event
is there, and none of the example's sample values is left."""

from __future__ import annotations

from app.localgithub import LocalGitHub
from app.localgithub.json_base import template
from tests.localgithub.conftest import World, feature_pr
from tests.localgithub.helpers import WebhookReceiver


async def test_bodies_keep_the_examples_keys_with_real_values(
    gh: LocalGitHub, world: World, receiver: WebhookReceiver
) -> None:
    pr = await feature_pr(gh, world)
    for event, action, example in (
        ("push", None, "push.with-new-branch"),
        ("check_suite", "requested", "check_suite.requested"),
        ("pull_request", "opened", "pull_request.opened"),
    ):
        delivery = receiver.of(event, action)[-1]
        body = delivery.payload
        assert set(template(example)) - {"enterprise"} <= set(body), event
        assert body["repository"]["full_name"] == "octo-org/hello"
        assert body["installation"]["id"] == world.installation_id
        assert body["organization"]["login"] == "octo-org"
        assert "Codertocat" not in delivery.body.decode(), event
        assert "api.github.com" not in delivery.body.decode(), event
    opened = receiver.of("pull_request", "opened")[-1].payload
    assert (opened["number"], opened["pull_request"]["head"]["sha"]) == (pr.number, pr.head_sha)
