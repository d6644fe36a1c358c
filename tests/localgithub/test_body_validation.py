"""Request bodies read as GitHub's schema validator reads them
(app/localgithub/body_validation.py): one 422 "Invalid request." listing every problem, one
line each, in the validator's words, for protection and ruleset bodies alike."""

from __future__ import annotations

from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, admin_token, refused

REPO = "/repos/octo-org/hello"
PROTECTION = f"{REPO}/branches/main/protection"


async def test_a_body_that_is_no_object(api: GitHubAPI, world: World, gh: LocalGitHub) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    error = await refused(api.put(PROTECTION, data=["tests"], oauth_token=admin))
    assert error.status_code == 422
    assert (
        error.args[0] == "Invalid request.\n\nFor 'links/0/schema', [\"tests\"] is not an object."
    )


async def test_every_problem_is_listed_in_order(
    api: GitHubAPI, world: World, gh: LocalGitHub
) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    body = {
        "required_status_checks": {"strict": "yes", "contexts": ["tests", 7]},
        "enforce_admins": 1,
        "required_pull_request_reviews": None,
    }
    error = await refused(api.put(PROTECTION, data=body, oauth_token=admin))
    assert error.status_code == 422
    assert error.args[0].split("\n") == [
        "Invalid request.",
        "",
        '"restrictions" wasn\'t supplied.',
        "For 'properties/strict', \"yes\" is not a boolean.",
        "For 'items', 7 is not a string.",
        "For 'properties/enforce_admins', 1 is not a boolean.",
    ]
    assert gh.branch_protection(world.repo, "main") is None


async def test_rulesets_are_read_the_same_way(
    api: GitHubAPI, world: World, gh: LocalGitHub
) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    body = {
        "name": 3,
        "enforcement": "active",
        "conditions": {"ref_name": {"include": "main"}},
        "rules": {},
    }
    error = await refused(api.post(f"{REPO}/rulesets", data=body, oauth_token=admin))
    assert error.status_code == 422
    assert error.args[0].split("\n")[2:] == [
        "For 'properties/name', 3 is not a string.",
        "For 'properties/include', \"main\" is not an array.",
        "For 'properties/rules', {} is not an array.",
    ]
    assert gh.rulesets(world.repo) == []
