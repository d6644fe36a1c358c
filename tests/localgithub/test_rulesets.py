"""Repository rulesets through the REST API (app/localgithub/rulesets.py): creating,
listing and updating them, GitHub's validation, and which branches their patterns take in."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import (
    World,
    admin_token,
    refused,
)

REPO = "/repos/octo-org/hello"


RULESET: dict[str, Any] = {
    "name": "Require Conveyor",
    "target": "branch",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
    "rules": [
        {
            "type": "required_status_checks",
            "parameters": {
                "strict_required_status_checks_policy": False,
                "required_status_checks": [{"context": "tests", "integration_id": 1000}],
            },
        }
    ],
}


async def test_rulesets(api: GitHubAPI, world: World, token: str, gh: LocalGitHub) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    made = await api.post(f"{REPO}/rulesets", data=RULESET, oauth_token=admin)
    assert made["name"] == "Require Conveyor"
    assert (made["source_type"], made["source"]) == ("Repository", "octo-org/hello")
    assert made["rules"] == RULESET["rules"]
    assert made["bypass_actors"] == []
    assert made["_links"]["self"]["href"] == f"{gh.url}{REPO}/rulesets/{made['id']}"
    # The list is a summary; one ruleset in full is readable with Metadata alone.
    [summary] = await api.getitem(f"{REPO}/rulesets", oauth_token=token)
    assert "rules" not in summary
    assert summary["id"] == made["id"]
    full = await api.getitem(f"{REPO}/rulesets/{made['id']}", oauth_token=token)
    assert full["rules"] == RULESET["rules"]
    assert "bypass_actors" not in full  # shown only to those who may edit the ruleset
    rules = await api.getitem(f"{REPO}/rules/branches/main", oauth_token=token)
    assert rules == [
        {
            **RULESET["rules"][0],
            "ruleset_source_type": "Repository",
            "ruleset_source": "octo-org/hello",
            "ruleset_id": made["id"],
        }
    ]
    assert await api.getitem(f"{REPO}/rules/branches/feature", oauth_token=token) == []

    error = await refused(api.post(f"{REPO}/rulesets", data=RULESET, oauth_token=admin))
    assert error.status_code == 422
    assert "Name must be unique" in error.args[0]

    updated = await api.put(
        f"{REPO}/rulesets/{made['id']}", data={"enforcement": "disabled"}, oauth_token=admin
    )
    assert updated["enforcement"] == "disabled"
    assert updated["rules"] == RULESET["rules"]
    assert await api.getitem(f"{REPO}/rules/branches/main", oauth_token=token) == []
    error = await refused(
        api.put(f"{REPO}/rulesets/{made['id']}", data={"enforcement": "on"}, oauth_token=token)
    )
    assert error.status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"enforcement": "active"}, '"name" wasn\'t supplied.'),
        (
            {"name": "x", "enforcement": "on"},
            "For 'properties/enforcement', \"on\" is not a member of "
            '["disabled", "active", "evaluate"].',
        ),
        (
            {
                "name": "x",
                "enforcement": "active",
                "rules": [{"type": "required_status_checks", "parameters": {}}],
            },
            '"strict_required_status_checks_policy" wasn\'t supplied.\n'
            '"required_status_checks" wasn\'t supplied.',
        ),
    ],
)
async def test_ruleset_validation(
    api: GitHubAPI, world: World, gh: LocalGitHub, body: dict[str, Any], message: str
) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    error = await refused(api.post(f"{REPO}/rulesets", data=body, oauth_token=admin))
    assert error.status_code == 422
    assert error.args[0] == "Invalid request.\n\n" + message


async def test_ruleset_patterns(api: GitHubAPI, world: World, gh: LocalGitHub) -> None:
    gh.create_ruleset(
        world.repo,
        {
            **RULESET,
            "conditions": {
                "ref_name": {
                    "include": ["refs/heads/release/*"],
                    "exclude": ["refs/heads/release/old"],
                }
            },
        },
    )
    _, admin = await admin_token(gh, api, world.repo)
    for branch, applies in (
        ("release/1.x", True),
        ("release/old", False),
        ("release/1.x/hotfix", False),
        ("main", False),
    ):
        rules = await api.getitem(f"{REPO}/rules/branches/{branch}", oauth_token=admin)
        assert bool(rules) is applies, branch
