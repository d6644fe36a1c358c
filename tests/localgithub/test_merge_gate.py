"""What a pull request needs before it merges (app/localgithub/merge_gate.py): which
conclusions satisfy a required check, rulesets' checks with protection's, strict checks on a
behind head, required reviews, and the 405 messages' wording."""

from __future__ import annotations

import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.merge_gate import checks_message
from app.localgithub.protection_records import RequiredCheck
from tests.localgithub.conftest import (
    World,
    feature_pr,
    protection,
    run,
)
from tests.localgithub.helpers import commit, git


@pytest.mark.parametrize(
    ("conclusion", "passes"),
    [
        ("success", True),
        ("neutral", True),
        ("skipped", True),
        ("failure", False),
        ("cancelled", False),
        ("timed_out", False),
        ("action_required", False),
    ],
)
async def test_which_conclusions_satisfy_a_required_check(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str, conclusion: str, passes: bool
) -> None:
    pr = await feature_pr(gh, world)
    await gh.protect_branch(world.repo, "main", protection({"context": "tests", "app_id": -1}))
    await run(api, token, pr.head_sha, conclusion=conclusion)
    assert gh.mergeable(pr)[0] is passes


async def test_a_ruleset_requires_checks_too(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    pr = await feature_pr(gh, world)
    gh.create_ruleset(
        world.repo,
        {
            "name": "CI",
            "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [
                {
                    "type": "required_status_checks",
                    "parameters": {
                        "strict_required_status_checks_policy": False,
                        "required_status_checks": [
                            {"context": "tests", "integration_id": world.app.id},
                            {"context": "lint"},
                        ],
                    },
                }
            ],
        },
    )
    assert gh.mergeable(pr) == (False, "2 of 2 required status checks are expected.")
    await run(api, token, pr.head_sha, conclusion="failure")
    assert gh.mergeable(pr) == (
        False,
        "2 of 2 required status checks have not succeeded: 1 expected and 1 failing.",
    )
    await run(api, token, pr.head_sha, conclusion="success")
    await run(api, token, pr.head_sha, name="lint", conclusion="success")
    assert gh.mergeable(pr) == (True, "")
    assert await gh.merge_pull_request(pr, method="squash") is True
    message = (await git("log", "-1", "--format=%s", "main", cwd=world.repo.bare_path)).stdout
    assert message == f"A feature (#{pr.number})"


async def test_strict_checks_want_the_head_up_to_date(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    pr = await feature_pr(gh, world)
    await gh.protect_branch(
        world.repo, "main", protection({"context": "tests", "app_id": world.app.id}, strict=True)
    )
    await run(api, token, pr.head_sha, conclusion="success")
    assert gh.mergeable(pr) == (True, "")
    await git("checkout", "-q", "main", cwd=world.work)
    await commit(world.work, {"other.txt": "x\n"}, "Base moves on")
    await gh.push(world.repo, world.work, "main")
    assert gh.mergeable(pr) == (False, 'Required status check "tests" is expected.')


async def test_required_reviews_block(gh: LocalGitHub, world: World) -> None:
    pr = await feature_pr(gh, world)
    body = protection()
    body["required_pull_request_reviews"] = {"required_approving_review_count": 1}
    await gh.protect_branch(world.repo, "main", body)
    assert gh.mergeable(pr) == (
        False,
        "At least 1 approving review is required by reviewers with write access.",
    )


@pytest.mark.parametrize(
    ("states", "message"),
    [
        ([("a", "passing")], None),
        ([("a", "failing"), ("b", "passing")], 'Required status check "a" is failing.'),
        ([("a", "pending"), ("b", "pending")], "2 of 2 required status checks are in progress."),
        (
            [("a", "failing"), ("b", "failing"), ("c", "passing")],
            "2 of 3 required status checks have not succeeded: 2 failing.",
        ),
        (
            [("a", "expected"), ("b", "failing"), ("c", "pending")],
            "3 of 3 required status checks have not succeeded: "
            "1 expected, 1 failing and 1 pending.",
        ),
    ],
)
def test_checks_messages(states: list[tuple[str, str]], message: str | None) -> None:
    assert checks_message([(RequiredCheck(name, None), state) for name, state in states]) == message
