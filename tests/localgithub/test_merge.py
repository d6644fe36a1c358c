"""A red pull request cannot merge: required checks from branch protection and rulesets, the
merge endpoint's refusals, and what a merge does when it is allowed."""

from __future__ import annotations

from typing import Any

import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub, PullRequest
from app.localgithub.local import DEFAULT_PERMISSIONS
from app.localgithub.protection import checks_message
from app.localgithub.protection_records import RequiredCheck
from tests.localgithub.conftest import World, installation_token
from tests.localgithub.helpers import WebhookReceiver, commit, git

REPO = "/repos/octo-org/hello"


def protection(*checks: dict[str, Any], strict: bool = False) -> dict[str, Any]:
    return {
        "required_status_checks": {"strict": strict, "checks": list(checks)},
        "enforce_admins": True,
        "required_pull_request_reviews": None,
        "restrictions": None,
    }


async def feature_pr(gh: LocalGitHub, world: World) -> PullRequest:
    await git("checkout", "-q", "-b", "feature", cwd=world.work)
    await commit(world.work, {"feature.txt": "new\n"}, "Add a feature")
    await gh.push(world.repo, world.work, "feature")
    return await gh.open_pull_request(world.repo, head="feature", title="A feature")


async def run(
    api: GitHubAPI, token: str, sha: str, name: str = "tests", **fields: Any
) -> dict[str, Any]:
    created: dict[str, Any] = await api.post(
        f"{REPO}/check-runs", data={"name": name, "head_sha": sha, **fields}, oauth_token=token
    )
    return created


async def merger_token(gh: LocalGitHub, api: GitHubAPI, world: World) -> str:
    """A merge bot: an app with Contents write (Conveyor itself only reads contents)."""
    app = gh.register_app("merge-bot", permissions={**DEFAULT_PERMISSIONS, "contents": "write"})
    installation = await gh.install(app, account="octo-org", repositories=[world.repo])
    return await installation_token(api, app, installation)


async def test_a_failing_required_check_blocks_the_merge(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    pr = await feature_pr(gh, world)
    await gh.protect_branch(
        world.repo, "main", protection({"context": "tests", "app_id": world.app.id})
    )
    merger = await merger_token(gh, api, world)
    url = f"{REPO}/pulls/{pr.number}/merge"
    assert gh.mergeable(pr) == (False, 'Required status check "tests" is expected.')

    started = await run(api, token, pr.head_sha, status="in_progress")
    assert gh.mergeable(pr) == (False, 'Required status check "tests" is in progress.')
    await api.patch(
        f"{REPO}/check-runs/{started['id']}", data={"conclusion": "failure"}, oauth_token=token
    )
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={}, oauth_token=merger)
    assert caught.value.status_code == 405
    assert caught.value.args[0] == 'Required status check "tests" is failing.'
    assert await gh.merge_pull_request(pr) == 'Required status check "tests" is failing.'

    # Another app's green "tests" does not count: the requirement is pinned to Conveyor.
    other = gh.register_app("other-ci")
    other_installation = await gh.install(other, account="octo-org", repositories=[world.repo])
    other_token = await installation_token(api, other, other_installation)
    await run(api, other_token, pr.head_sha, conclusion="success")
    assert gh.mergeable(pr) == (False, 'Required status check "tests" is failing.')

    # The latest run decides: a re-run that passes unblocks the merge.
    await run(api, token, pr.head_sha, conclusion="success")
    assert gh.mergeable(pr) == (True, "")
    before = len(receiver.received)
    merged = await api.put(url, data={"sha": pr.head_sha}, oauth_token=merger)
    assert merged["merged"] is True
    assert merged["message"] == "Pull Request successfully merged"
    await gh.wait_idle()
    main_tip = (await git("rev-parse", "refs/heads/main", cwd=world.repo.bare_path)).stdout
    assert main_tip == merged["sha"]
    parents = (await git("rev-list", "--parents", "-n1", main_tip, cwd=world.repo.bare_path)).stdout
    assert parents.split()[1:] == [world.sha, pr.head_sha]
    after = gh.pull_request(world.repo, pr.number)
    assert (after.state, after.merged, after.merge_commit_sha) == ("closed", True, merged["sha"])
    events = [(r.event, r.action) for r in receiver.received[before:]]
    assert ("pull_request", "closed") in events
    assert ("push", None) in events
    assert ("check_suite", "requested") in events
    [closed] = receiver.of("pull_request", "closed")
    assert closed.payload["pull_request"]["merged"] is True
    assert closed.payload["pull_request"]["merged_by"]["login"] == "merge-bot[bot]"

    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={}, oauth_token=merger)
    assert (caught.value.status_code, caught.value.args[0]) == (
        405,
        "Pull Request is not mergeable",
    )


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


async def test_merge_endpoint_refusals(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str
) -> None:
    pr = await feature_pr(gh, world)
    url = f"{REPO}/pulls/{pr.number}/merge"
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={}, oauth_token=token)
    assert (caught.value.status_code, caught.value.args[0]) == (
        403,
        "Resource not accessible by integration",
    )
    merger = await merger_token(gh, api, world)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={"sha": world.sha}, oauth_token=merger)
    assert (caught.value.status_code, caught.value.args[0]) == (
        409,
        "Head branch was modified. Review and try the merge again.",
    )
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(url, data={"merge_method": "octopus"}, oauth_token=merger)
    assert caught.value.status_code == 422
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.put(f"{REPO}/pulls/99/merge", data={}, oauth_token=merger)
    assert caught.value.status_code == 404
    # Unprotected, nothing stops it.
    assert (await api.put(url, data={"merge_method": "merge"}, oauth_token=merger))["merged"]


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
