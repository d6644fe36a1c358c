"""app/github/protection.py against the local GitHub: finding the installation, requiring
checks while keeping the rest of a protection, and GitHub's refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.github.client import GitHubClient
from app.github.protection import (
    BranchNotFound,
    Installation,
    NotInstalled,
    NotPermitted,
    Repository,
    RequiredCheck,
    check_branch,
    checks_of,
    find_installation,
    get_app,
    get_repository,
    merged_checks,
    put_body,
    read_protection,
    require_checks,
    ruleset_requiring,
)
from app.localgithub import GitHubApp, LocalGitHub
from app.localgithub import Repository as LocalRepository
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.helpers import commit, git, new_worktree

ADMIN = {**DEFAULT_PERMISSIONS, "administration": "write"}


@dataclass(frozen=True)
class Setup:
    gh: LocalGitHub
    app: GitHubApp
    client: GitHubClient
    installation: Installation
    repository: Repository
    repo: LocalRepository  # the same repository, as the local GitHub hands it out


async def make(
    gh: LocalGitHub, session: aiohttp.ClientSession, tmp: Path, permissions: Mapping[str, str]
) -> Setup:
    app = gh.register_app("Conveyor", permissions=permissions)
    installation_id = await gh.install(app, account="octo-org")
    repo = await gh.create_repository("octo-org", "hello", installation_id=installation_id)
    work = await new_worktree(tmp / "work")
    await commit(work, {"README.md": "hi\n"}, "Initial")
    await gh.push(repo, work)
    await git("checkout", "-q", "-b", "release/1.x", cwd=work)
    await gh.push(repo, work, "release/1.x")
    assert gh.url is not None
    client = GitHubClient(
        session, api_url=gh.url, app_id=str(app.id), private_key=app.private_key_pem
    )
    installation = await find_installation(client, "octo-org", "hello")
    repository = await get_repository(client, installation, "octo-org", "hello")
    return Setup(gh, app, client, installation, repository, repo)


@pytest.fixture
def gh(github: LocalGitHub) -> LocalGitHub:
    """The local GitHub (tests/conftest.py), under the name these tests use."""
    return github


@pytest.fixture
async def admin(gh: LocalGitHub, session: aiohttp.ClientSession, tmp_path: Path) -> Setup:
    return await make(gh, session, tmp_path, ADMIN)


@pytest.fixture
async def plain(gh: LocalGitHub, session: aiohttp.ClientSession, tmp_path: Path) -> Setup:
    return await make(gh, session, tmp_path, DEFAULT_PERMISSIONS)


async def test_app_installation_and_repository(admin: Setup) -> None:
    app = await get_app(admin.client)
    assert (app.id, app.slug, app.name) == (admin.app.id, "conveyor", "Conveyor")
    assert app.permissions["administration"] == "write"
    assert admin.installation.account == "octo-org"
    assert admin.installation.account_type == "Organization"
    assert admin.installation.permissions["administration"] == "write"
    assert admin.repository.full_name == "octo-org/hello"
    assert admin.repository.default_branch == "main"


async def test_not_installed_tells_the_account_from_the_repository(admin: Setup) -> None:
    gh = admin.gh
    await gh.create_repository("octo-org", "private-one")  # not given to the installation
    with pytest.raises(NotInstalled) as caught:
        await find_installation(admin.client, "octo-org", "private-one")
    assert caught.value.installed_on_account is True
    with pytest.raises(NotInstalled) as caught:
        await find_installation(admin.client, "octo-org", "no-such-repo")
    assert caught.value.installed_on_account is True
    await gh.create_repository("someone-else", "theirs")
    with pytest.raises(NotInstalled) as caught:
        await find_installation(admin.client, "someone-else", "theirs")
    assert caught.value.installed_on_account is False


async def test_branch_check(admin: Setup) -> None:
    await check_branch(admin.client, admin.installation, admin.repository, "main")
    await check_branch(admin.client, admin.installation, admin.repository, "release/1.x")
    with pytest.raises(BranchNotFound):
        await check_branch(admin.client, admin.installation, admin.repository, "nope")


async def test_an_unprotected_branch_gets_a_minimal_protection(admin: Setup) -> None:
    ours = [RequiredCheck("tests", admin.app.id)]
    outcome = await require_checks(admin.client, admin.installation, admin.repository, "main", ours)
    assert outcome.action == "created"
    assert outcome.required == (RequiredCheck("tests", admin.app.id),)
    shown = await read_protection(admin.client, admin.installation, admin.repository, "main")
    assert shown is not None
    assert shown["required_status_checks"]["checks"] == [
        {"context": "tests", "app_id": admin.app.id}
    ]
    assert shown["enforce_admins"]["enabled"] is False
    assert "required_pull_request_reviews" not in shown
    again = await require_checks(admin.client, admin.installation, admin.repository, "main", ours)
    assert again.action == "unchanged"


async def test_existing_required_checks_and_settings_are_kept(admin: Setup) -> None:
    gh = admin.gh
    repo = admin.repo
    before = await gh.protect_branch(
        repo,
        "main",
        {
            "required_status_checks": {
                "strict": True,
                "checks": [
                    {"context": "build", "app_id": -1},
                    {"context": "docs", "app_id": 15368},
                    {"context": "tests", "app_id": -1},
                ],
            },
            "enforce_admins": True,
            "required_pull_request_reviews": {"required_approving_review_count": 2},
            "restrictions": None,
            "required_linear_history": True,
        },
    )
    ours = [RequiredCheck("tests", admin.app.id), RequiredCheck("lint", admin.app.id)]
    outcome = await require_checks(admin.client, admin.installation, admin.repository, "main", ours)
    assert outcome.action == "updated"
    assert outcome.strict is True
    after = gh.branch_protection(repo, "main")
    assert after is not None
    assert after["required_status_checks"]["checks"] == [
        {"context": "build", "app_id": None},
        {"context": "docs", "app_id": 15368},
        {"context": "tests", "app_id": admin.app.id},
        {"context": "lint", "app_id": admin.app.id},
    ]
    # Everything but the list of checks is as it was.
    assert {k: v for k, v in after.items() if k != "required_status_checks"} == {
        k: v for k, v in before.items() if k != "required_status_checks"
    }
    assert after["required_status_checks"]["strict"] is True


async def test_protection_without_status_checks_is_put_back_whole(admin: Setup) -> None:
    gh = admin.gh
    repo = admin.repo
    before = await gh.protect_branch(
        repo,
        "main",
        {
            "required_status_checks": None,
            "enforce_admins": True,
            "required_pull_request_reviews": {
                "dismiss_stale_reviews": True,
                "required_approving_review_count": 1,
                "dismissal_restrictions": {"users": ["mona"], "teams": ["core"]},
            },
            "restrictions": {"users": ["mona"], "teams": ["core"], "apps": ["conveyor"]},
            "allow_deletions": True,
            "required_conversation_resolution": True,
        },
    )
    outcome = await require_checks(
        admin.client, admin.installation, admin.repository, "main", [RequiredCheck("tests", 7)]
    )
    assert outcome.action == "updated"
    after = gh.branch_protection(repo, "main")
    assert after is not None
    assert after["required_status_checks"]["checks"] == [{"context": "tests", "app_id": 7}]
    assert {k: v for k, v in after.items() if k != "required_status_checks"} == before


async def test_a_branch_with_a_slash(admin: Setup) -> None:
    outcome = await require_checks(
        admin.client,
        admin.installation,
        admin.repository,
        "release/1.x",
        [RequiredCheck("tests", admin.app.id)],
    )
    assert outcome.action == "created"
    assert admin.gh.branch_protection(admin.repo, "release/1.x") is not None
    assert admin.gh.branch_protection(admin.repo, "main") is None


async def test_without_administration_github_refuses(plain: Setup) -> None:
    with pytest.raises(NotPermitted) as caught:
        await require_checks(
            plain.client,
            plain.installation,
            plain.repository,
            "main",
            [RequiredCheck("tests", plain.app.id)],
        )
    assert caught.value.method == "GET"
    assert caught.value.path == "/repos/octo-org/hello/branches/main/protection"
    assert caught.value.message == "Resource not accessible by integration"
    assert "administration" not in plain.installation.permissions


async def test_read_only_administration_is_refused_at_the_write(
    gh: LocalGitHub, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    setup = await make(gh, session, tmp_path, {**DEFAULT_PERMISSIONS, "administration": "read"})
    with pytest.raises(NotPermitted) as caught:
        await require_checks(
            setup.client, setup.installation, setup.repository, "main", [RequiredCheck("t", 1)]
        )
    assert (caught.value.method, caught.value.path) == (
        "PUT",
        "/repos/octo-org/hello/branches/main/protection",
    )


async def test_a_ruleset_that_already_requires_the_checks(plain: Setup) -> None:
    ours = [RequiredCheck("tests", plain.app.id)]
    assert (
        await ruleset_requiring(plain.client, plain.installation, plain.repository, "main", ours)
        is None
    )
    plain.gh.create_ruleset(
        plain.repo,
        {
            "name": "CI gate",
            "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [
                {
                    "type": "required_status_checks",
                    "parameters": {
                        "strict_required_status_checks_policy": False,
                        "required_status_checks": [
                            {"context": "tests", "integration_id": plain.app.id}
                        ],
                    },
                }
            ],
        },
    )
    found = await ruleset_requiring(
        plain.client, plain.installation, plain.repository, "main", ours
    )
    assert found == "CI gate"
    # From any source is not the same requirement.
    loose = [RequiredCheck("tests", None)]
    assert (
        await ruleset_requiring(plain.client, plain.installation, plain.repository, "main", loose)
        is None
    )


def test_put_body_turns_get_objects_into_names() -> None:
    shown: dict[str, Any] = {
        "url": "x",
        "required_status_checks": {"strict": True, "contexts": ["a"], "checks": []},
        "required_pull_request_reviews": {
            "url": "y",
            "dismissal_restrictions": {
                "users": [{"login": "mona"}],
                "teams": [{"slug": "core"}],
                "apps": [],
            },
            "required_approving_review_count": 2,
            "require_code_owner_reviews": True,
        },
        "required_signatures": {"url": "z", "enabled": True},
        "enforce_admins": {"url": "w", "enabled": True},
        "allow_force_pushes": {"enabled": True},
        "restrictions": {"users": [], "teams": [{"slug": "ops"}], "apps": [{"slug": "bot"}]},
    }
    assert put_body(shown, None) == {
        "required_status_checks": None,
        "enforce_admins": True,
        "required_pull_request_reviews": {
            "required_approving_review_count": 2,
            "require_code_owner_reviews": True,
            "dismissal_restrictions": {"users": ["mona"], "teams": ["core"], "apps": []},
        },
        "restrictions": {"users": [], "teams": ["ops"], "apps": ["bot"]},
        "allow_force_pushes": True,
    }


def test_checks_of_and_merged_checks() -> None:
    assert checks_of({"contexts": ["a", "b"]}) == (
        RequiredCheck("a", None),
        RequiredCheck("b", None),
    )
    assert checks_of({"checks": [{"context": "a", "app_id": 3}], "contexts": ["a"]}) == (
        RequiredCheck("a", 3),
    )
    assert checks_of(None) == ()
    existing = (RequiredCheck("build", None), RequiredCheck("tests", None))
    assert merged_checks(existing, [RequiredCheck("tests", 9)]) == (
        RequiredCheck("build", None),
        RequiredCheck("tests", 9),
    )
    assert RequiredCheck("x", None).payload() == {"context": "x", "app_id": -1}
