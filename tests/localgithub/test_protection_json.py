"""Classic branch protection as GitHub shows it (app/localgithub/protection_json.py): every
section of GET .../protection, and the summary in GET .../branches/{branch}."""

from __future__ import annotations

from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import (
    World,
    admin_token,
)

REPO = "/repos/octo-org/hello"
PROTECTION = f"{REPO}/branches/main/protection"


async def test_full_protection_round_trip(api: GitHubAPI, world: World, gh: LocalGitHub) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    body = {
        "required_status_checks": {"strict": True, "contexts": ["build"]},
        "enforce_admins": True,
        "required_pull_request_reviews": {
            "dismiss_stale_reviews": True,
            "required_approving_review_count": 2,
            "dismissal_restrictions": {"users": ["mona"], "teams": ["core"]},
        },
        "restrictions": {"users": ["mona"], "teams": [], "apps": ["admin-bot"]},
        "required_linear_history": True,
        "allow_force_pushes": None,
    }
    got = await api.put(PROTECTION, data=body, oauth_token=admin)
    reviews = got["required_pull_request_reviews"]
    assert reviews["required_approving_review_count"] == 2
    assert reviews["dismiss_stale_reviews"] is True
    assert [u["login"] for u in reviews["dismissal_restrictions"]["users"]] == ["mona"]
    assert [t["slug"] for t in reviews["dismissal_restrictions"]["teams"]] == ["core"]
    assert [a["slug"] for a in got["restrictions"]["apps"]] == ["admin-bot"]
    assert got["enforce_admins"]["enabled"] is True
    assert got["required_linear_history"] == {"enabled": True}
    assert got["allow_force_pushes"] == {"enabled": False}


async def test_the_branch_shows_a_summary_of_its_protection(
    api: GitHubAPI, world: World, gh: LocalGitHub
) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    branch = await api.getitem(f"{REPO}/branches/main", oauth_token=admin)
    assert branch["protected"] is False
    assert branch["protection"] == {
        "enabled": False,
        "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
    }
    await gh.protect_branch(
        world.repo,
        "main",
        {
            "required_status_checks": {
                "strict": False,
                "checks": [{"context": "tests", "app_id": world.app.id}],
            },
            "enforce_admins": True,
            "required_pull_request_reviews": None,
            "restrictions": None,
        },
    )
    branch = await api.getitem(f"{REPO}/branches/main", oauth_token=admin)
    assert branch["protected"] is True
    assert branch["protection"] == {
        "enabled": True,
        "required_status_checks": {
            "enforcement_level": "everyone",  # enforce_admins: admins too
            "contexts": ["tests"],
            "checks": [{"context": "tests", "app_id": world.app.id}],
        },
    }
    assert branch["protection_url"] == f"{gh.url}{PROTECTION}"
