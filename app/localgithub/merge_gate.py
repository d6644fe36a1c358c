"""What a pull request needs before it may merge: classic protection and every active ruleset
of its base branch together, the state of each required check on the head, and the 405
message the merge endpoint gives when something is missing.

Sources: "About protected branches" ("Required status checks must have a successful,
skipped, or neutral status") and the 405 messages the merge endpoint is seen to give
(observed wording, not documented, is marked as such).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.localgithub.protection_records import RequiredCheck
from app.localgithub.records import COMPLETED, PullRecord, RepoRecord
from app.localgithub.rulesets import ruleset_applies
from app.localgithub.state import World

# "Required status checks must have a successful, skipped, or neutral status."
PASSING = ("success", "neutral", "skipped")


@dataclass(frozen=True)
class Requirements:
    checks: tuple[RequiredCheck, ...]
    strict: bool
    approvals: int


def requirements(world: World, repo: RepoRecord, branch: str) -> Requirements:
    """Classic protection and every active ruleset together, as GitHub layers them."""
    checks: list[RequiredCheck] = []
    strict = False
    approvals = 0
    protection = world.protections.get((repo.id, branch))
    if protection is not None:
        if protection.status_checks is not None:
            checks += protection.status_checks.checks
            strict = protection.status_checks.strict
        if protection.reviews is not None:
            approvals = protection.reviews.required_approving_review_count
    for ruleset in world.rulesets_of_repo(repo.id):
        if not ruleset_applies(ruleset, repo, branch):
            continue
        for rule in ruleset.rules:
            parameters = rule.get("parameters") or {}
            if rule["type"] == "required_status_checks":
                strict = strict or bool(parameters.get("strict_required_status_checks_policy"))
                checks += [
                    RequiredCheck(entry["context"], entry.get("integration_id"))
                    for entry in parameters.get("required_status_checks", [])
                ]
            elif rule["type"] == "pull_request":
                count = parameters.get("required_approving_review_count", 0)
                approvals = max(approvals, count if isinstance(count, int) else 0)
    unique: dict[tuple[str, int | None], RequiredCheck] = {}
    for check in checks:
        unique.setdefault((check.context, check.app_id), check)
    return Requirements(tuple(unique.values()), strict, approvals)


def check_state(world: World, pr: PullRecord, check: RequiredCheck, *, strict: bool) -> str:
    """ "passing", "failing", "pending" or "expected" for one required check on the head: the
    latest run of that name from each app that may satisfy it."""
    if strict and not pr.up_to_date:
        # Under "require branches to be up to date" a behind head counts as not reported.
        return "expected"
    newest: dict[int, int] = {}
    for run in world.runs.values():
        if (
            run.repo_id == pr.base_repo_id
            and run.head_sha == pr.head_sha
            and run.name == check.context
            and (check.app_id is None or run.app_id == check.app_id)
        ):
            newest[run.app_id] = max(newest.get(run.app_id, 0), run.id)
    if not newest:
        return "expected"
    runs = [world.runs[run_id] for run_id in newest.values()]
    if any(run.status != COMPLETED for run in runs):
        return "pending"
    if all(run.conclusion in PASSING for run in runs):
        return "passing"
    return "failing"


_SINGLE = {"expected": "expected", "pending": "in progress", "failing": "failing"}


def checks_message(states: Sequence[tuple[RequiredCheck, str]]) -> str | None:
    """The 405 message for required checks that have not passed, in the wording GitHub is
    seen to use: 'Required status check "tests" is failing.' for one, and 'N of M required
    status checks are expected.' / '... have not succeeded: 1 expected and 1 failing.' for
    several (the counts wording is observed, not documented)."""
    bad = [(check, state) for check, state in states if state != "passing"]
    if not bad:
        return None
    if len(bad) == 1:
        check, state = bad[0]
        return f'Required status check "{check.context}" is {_SINGLE[state]}.'
    total = len(states)
    counts = {
        kind: sum(1 for _, state in bad if state == kind)
        for kind in ("expected", "failing", "pending")
    }
    present = [(kind, count) for kind, count in counts.items() if count]
    if len(present) == 1 and present[0][0] == "expected":
        return f"{len(bad)} of {total} required status checks are expected."
    if len(present) == 1 and present[0][0] == "pending":
        return f"{len(bad)} of {total} required status checks are in progress."
    parts = [f"{count} {kind}" for kind, count in present]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{len(bad)} of {total} required status checks have not succeeded: {listed}."


def merge_refusal(world: World, pr: PullRecord) -> str | None:
    """Why GitHub would refuse to merge the pull request now (its 405 message), or None."""
    if pr.state != "open" or pr.merge_commit_sha is None:
        return "Pull Request is not mergeable"
    repo = world.repos[pr.base_repo_id]
    needed = requirements(world, repo, pr.base_ref)
    if needed.approvals:
        # The emulator has no reviews, so any required approval blocks the merge.
        plural = "s" if needed.approvals > 1 else ""
        return (
            f"At least {needed.approvals} approving review{plural} is required by reviewers "
            "with write access."
        )
    states = [
        (check, check_state(world, pr, check, strict=needed.strict)) for check in needed.checks
    ]
    return checks_message(states)
