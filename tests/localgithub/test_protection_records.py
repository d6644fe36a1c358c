"""The records of branch protection and rulesets (app/localgithub/protection_records.py):
GitHub's defaults for the on/off settings, and what a PUT keeps of the old protection."""

from __future__ import annotations

from typing import Any

from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.protection_records import PROTECTION_FLAGS
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.conftest import World, installation_token

PROTECTION = "/repos/octo-org/hello/branches/main/protection"

MINIMAL: dict[str, Any] = {
    "required_status_checks": None,
    "enforce_admins": None,
    "required_pull_request_reviews": None,
    "restrictions": None,
}


async def test_flags_default_to_off_and_keep_what_a_put_sets(
    gh: LocalGitHub, api: GitHubAPI, world: World
) -> None:
    admin = gh.register_app(
        "admin-bot", permissions={**DEFAULT_PERMISSIONS, "administration": "write"}
    )
    installation = await gh.install(admin, account="octo-org", repositories=[world.repo])
    token = await installation_token(api, admin, installation)

    shown = await api.put(PROTECTION, data=MINIMAL, oauth_token=token)
    assert {flag: shown[flag] for flag in PROTECTION_FLAGS} == {
        flag: {"enabled": False} for flag in PROTECTION_FLAGS
    }
    assert shown["required_signatures"]["enabled"] is False
    assert shown["enforce_admins"]["enabled"] is False

    shown = await api.put(
        PROTECTION,
        data={**MINIMAL, "allow_force_pushes": True, "enforce_admins": True},
        oauth_token=token,
    )
    assert shown["allow_force_pushes"] == {"enabled": True}
    assert shown["allow_deletions"] == {"enabled": False}
    assert shown["enforce_admins"]["enabled"] is True
    assert gh.branch_protection(world.repo, "main") == shown
