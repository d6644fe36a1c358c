"""Classic branch protection through the REST API (app/localgithub/protection.py): GitHub's
validation of the bodies, its 404s, which app a named check is tied to, and its refusals to
apps without the Administration permission."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.conftest import ADMIN, World, admin_token, installation_token, refused
from tests.localgithub.helpers import commit, git

REPO = "/repos/octo-org/hello"
PROTECTION = f"{REPO}/branches/main/protection"

MINIMAL: dict[str, Any] = {
    "required_status_checks": {"strict": False, "checks": [{"context": "tests"}]},
    "enforce_admins": None,
    "required_pull_request_reviews": None,
    "restrictions": None,
}


async def test_conveyors_own_token_may_not_touch_protection(
    api: GitHubAPI, world: World, token: str, gh: LocalGitHub
) -> None:
    error = await refused(api.getitem(PROTECTION, oauth_token=token))
    assert error.headers["X-Accepted-GitHub-Permissions"] == "administration=read"
    for call in (
        api.put(PROTECTION, data=MINIMAL, oauth_token=token),
        api.patch(f"{PROTECTION}/required_status_checks", data={}, oauth_token=token),
        api.post(
            f"{REPO}/rulesets", data={"name": "x", "enforcement": "active"}, oauth_token=token
        ),
    ):
        error = await refused(call)
        assert error.status_code == 403
        assert error.args[0] == "Resource not accessible by integration"
        assert error.headers["X-Accepted-GitHub-Permissions"] == "administration=write"
    # Reading rulesets and a branch's rules needs Metadata only.
    assert await api.getitem(f"{REPO}/rulesets", oauth_token=token) == []
    assert await api.getitem(f"{REPO}/rules/branches/main", oauth_token=token) == []
    assert [c.status for c in gh.refused()] == [403, 403, 403, 403]


async def test_read_only_administration_may_look_but_not_change(
    api: GitHubAPI, world: World, gh: LocalGitHub
) -> None:
    _, reader = await admin_token(
        gh, api, world.repo, permissions={**DEFAULT_PERMISSIONS, "administration": "read"}
    )
    error = await refused(api.getitem(PROTECTION, oauth_token=reader))
    assert (error.status_code, error.args[0]) == (404, "Branch not protected")
    error = await refused(api.put(PROTECTION, data=MINIMAL, oauth_token=reader))
    assert (error.status_code, error.args[0]) == (403, "Resource not accessible by integration")


async def test_put_get_patch_delete(api: GitHubAPI, world: World, gh: LocalGitHub) -> None:
    app, admin = await admin_token(gh, api, world.repo)
    put = await api.put(PROTECTION, data=MINIMAL, oauth_token=admin)
    got = await api.getitem(PROTECTION, oauth_token=admin)
    assert put == got
    assert got["url"] == f"{gh.url}{PROTECTION}"
    checks = got["required_status_checks"]
    # No app has reported "tests" yet: any source may satisfy it.
    assert checks["checks"] == [{"context": "tests", "app_id": None}]
    assert checks["contexts"] == ["tests"]
    assert checks["strict"] is False
    assert checks["contexts_url"] == f"{gh.url}{PROTECTION}/required_status_checks/contexts"
    assert got["enforce_admins"] == {
        "url": f"{gh.url}{PROTECTION}/enforce_admins",
        "enabled": False,
    }
    assert got["required_linear_history"] == {"enabled": False}
    assert "required_pull_request_reviews" not in got
    assert "restrictions" not in got

    patched = await api.patch(
        f"{PROTECTION}/required_status_checks",
        data={"strict": True, "checks": [{"context": "tests", "app_id": world.app.id}]},
        oauth_token=admin,
    )
    assert patched["checks"] == [{"context": "tests", "app_id": world.app.id}]
    assert patched["strict"] is True
    assert await api.getitem(f"{PROTECTION}/required_status_checks", oauth_token=admin) == patched
    # `checks` wins over `contexts` when both are sent; leaving both out keeps the list.
    both = await api.patch(
        f"{PROTECTION}/required_status_checks",
        data={"contexts": ["lint"], "checks": [{"context": "docs", "app_id": -1}]},
        oauth_token=admin,
    )
    assert both["checks"] == [{"context": "docs", "app_id": None}]
    kept = await api.patch(
        f"{PROTECTION}/required_status_checks", data={"strict": False}, oauth_token=admin
    )
    assert (kept["checks"], kept["strict"]) == (both["checks"], False)

    branch = await api.getitem(f"{REPO}/branches/main", oauth_token=admin)
    assert branch["protected"] is True
    assert branch["commit"]["sha"] == world.sha
    assert branch["protection"]["required_status_checks"]["contexts"] == ["docs"]
    assert branch["protection"]["required_status_checks"]["enforcement_level"] == "non_admins"

    await api.delete(PROTECTION, oauth_token=admin)
    error = await refused(api.getitem(PROTECTION, oauth_token=admin))
    assert (error.status_code, error.args[0]) == (404, "Branch not protected")
    assert gh.branch_protection(world.repo, "main") is None
    assert app.id != world.app.id


async def test_contexts_are_tied_to_the_app_that_reported_them(
    api: GitHubAPI, world: World, token: str, gh: LocalGitHub
) -> None:
    await api.post(
        f"{REPO}/check-runs",
        data={"name": "tests", "head_sha": world.sha, "conclusion": "success"},
        oauth_token=token,
    )
    _, admin = await admin_token(gh, api, world.repo)
    body = {**MINIMAL, "required_status_checks": {"strict": False, "contexts": ["tests", "docs"]}}
    got = await api.put(PROTECTION, data=body, oauth_token=admin)
    assert got["required_status_checks"]["checks"] == [
        {"context": "tests", "app_id": world.app.id},
        {"context": "docs", "app_id": None},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"enforce_admins": None, "required_pull_request_reviews": None},
            'Invalid request.\n\n"required_status_checks" wasn\'t supplied.\n'
            '"restrictions" wasn\'t supplied.',
        ),
        (
            {**MINIMAL, "required_status_checks": {"strict": True}},
            'Invalid request.\n\nNo subschema in "anyOf" matched.\n'
            'No subschema in "oneOf" matched.\nNot all subschemas of "allOf" matched.\n'
            "For 'anyOf/1', {\"strict\"=>true} is not a null.",
        ),
        (
            {**MINIMAL, "required_status_checks": {"checks": []}},
            'Invalid request.\n\n"strict" wasn\'t supplied.',
        ),
        (
            {**MINIMAL, "enforce_admins": "yes"},
            "Invalid request.\n\nFor 'properties/enforce_admins', \"yes\" is not a boolean.",
        ),
        (
            {**MINIMAL, "required_status_checks": {"strict": False, "checks": [{"app_id": 1}]}},
            'Invalid request.\n\n"context" wasn\'t supplied.',
        ),
        (
            {**MINIMAL, "required_pull_request_reviews": {"required_approving_review_count": 7}},
            "Invalid request.\n\n7 is greater than the maximum of 6.",
        ),
    ],
)
async def test_put_is_validated_like_github(
    api: GitHubAPI, world: World, gh: LocalGitHub, body: dict[str, Any], message: str
) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    error = await refused(api.put(PROTECTION, data=body, oauth_token=admin))
    assert error.status_code == 422
    assert error.args[0] == message
    assert gh.branch_protection(world.repo, "main") is None


async def test_missing_branch_and_unprotected_branch(
    api: GitHubAPI, world: World, gh: LocalGitHub
) -> None:
    _, admin = await admin_token(gh, api, world.repo)
    for call in (
        api.getitem(f"{REPO}/branches/nope/protection", oauth_token=admin),
        api.put(f"{REPO}/branches/nope/protection", data=MINIMAL, oauth_token=admin),
        api.getitem(f"{REPO}/branches/nope", oauth_token=admin),
    ):
        error = await refused(call)
        assert (error.status_code, error.args[0]) == (404, "Branch not found")
    error = await refused(
        api.patch(f"{PROTECTION}/required_status_checks", data={}, oauth_token=admin)
    )
    assert (error.status_code, error.args[0]) == (404, "Branch not protected")
    await api.put(PROTECTION, data={**MINIMAL, "required_status_checks": None}, oauth_token=admin)
    error = await refused(api.getitem(f"{PROTECTION}/required_status_checks", oauth_token=admin))
    assert (error.status_code, error.args[0]) == (404, "Required status checks not enabled")


async def test_branch_names_with_slashes(
    api: GitHubAPI, world: World, gh: LocalGitHub, tmp_path: Path
) -> None:
    await git("checkout", "-q", "-b", "release/1.x", cwd=world.work)
    await commit(world.work, {"x.txt": "x\n"}, "x")
    await gh.push(world.repo, world.work, "release/1.x")
    _, admin = await admin_token(gh, api, world.repo)
    url = f"{REPO}/branches/release/1.x/protection"
    await api.put(url, data=MINIMAL, oauth_token=admin)
    got = await api.getitem(f"{url}/required_status_checks", oauth_token=admin)
    assert got["contexts"] == ["tests"]
    branch = await api.getitem(f"{REPO}/branches/release/1.x", oauth_token=admin)
    assert (branch["name"], branch["protected"]) == ("release/1.x", True)
    assert gh.branch_protection(world.repo, "main") is None


async def test_restrictions_only_on_organization_repositories(
    api: GitHubAPI, gh: LocalGitHub, tmp_path: Path
) -> None:
    app = gh.register_app("admin-bot", permissions=ADMIN)
    installation = await gh.install(app, account="mona", account_type="User")
    repo = await gh.create_repository("mona", "solo", installation_id=installation)
    work = tmp_path / "solo"
    await git("init", "-q", "-b", "main", str(work))
    await commit(work, {"a": "a\n"}, "a")
    await gh.push(repo, work)
    admin = await installation_token(api, app, installation)
    body = {**MINIMAL, "restrictions": {"users": [], "teams": []}}
    error = await refused(
        api.put("/repos/mona/solo/branches/main/protection", data=body, oauth_token=admin)
    )
    assert error.status_code == 422
    assert error.args[0] == "Only organization repositories can have users and team restrictions"
