"""Classic branch protection: GitHub's checks of the PUT .../protection and PATCH
.../required_status_checks bodies, and the record they make (protection_records.py). How
it is shown is protection_json.py's job; what it demands of a merge, merge_gate.py's.

Sources: the REST reference (request schemas: `repos/update-branch-protection` wants the four
top-level keys, `required_status_checks` wants `strict` and exactly one of `checks`/`contexts`;
`update-status-check-protection` takes any of them and prefers `checks`). Wording that is not
documented anywhere is marked as such where it is produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from app.localgithub.body_validation import BodyValidator
from app.localgithub.checks import ruby_inspect
from app.localgithub.errors import ApiError
from app.localgithub.protection_records import (
    PROTECTION_FLAGS,
    Allowances,
    ProtectionRecord,
    RequiredCheck,
    ReviewsRecord,
    StatusChecksRecord,
)
from app.localgithub.records import RepoRecord
from app.localgithub.state import World
from app.localgithub.timeutil import now

DOC_BRANCH = "https://docs.github.com/rest/branches/branches#get-a-branch"
DOC_GET = "https://docs.github.com/rest/branches/branch-protection#get-branch-protection"
DOC_PUT = "https://docs.github.com/rest/branches/branch-protection#update-branch-protection"
DOC_DELETE = "https://docs.github.com/rest/branches/branch-protection#delete-branch-protection"
DOC_STATUS_GET = (
    "https://docs.github.com/rest/branches/branch-protection#get-status-checks-protection"
)
DOC_STATUS_PATCH = (
    "https://docs.github.com/rest/branches/branch-protection#update-status-check-protection"
)

# A check named in `contexts` (or in `checks` without `app_id`) is tied to the app that set
# it recently; the troubleshooting page speaks of "the past seven days".
RECENT = timedelta(days=7)

MAX_APPROVALS = 6


def not_found(message: str, doc: str) -> ApiError:
    return ApiError(404, message, documentation_url=doc)


def _allowances(
    body: BodyValidator, raw: Any, key: str, *, required_lists: bool
) -> Allowances | None:
    value = body.obj(raw, f"properties/{key}")
    if value is None:
        return None
    return Allowances(
        users=body.strings(value, "users", required=required_lists),
        teams=body.strings(value, "teams", required=required_lists),
        apps=body.strings(value, "apps"),
    )


def _recent_app(world: World, repo: RepoRecord, context: str) -> int | None:
    """The app that set this check on the repository lately, if any (GitHub's choice when a
    check is named without an app)."""
    since = now() - RECENT
    runs = [
        run
        for run in world.runs.values()
        if run.repo_id == repo.id
        and run.name == context
        and (run.completed_at or run.started_at or now()) >= since
    ]
    if not runs:
        return None
    return max(runs, key=lambda run: run.id).app_id


def _checks_from(
    body: BodyValidator, world: World, repo: RepoRecord, raw: Any, path: str
) -> list[RequiredCheck]:
    if not isinstance(raw, list):
        body.wrong(path, raw, "an array")
        return []
    checks = []
    for item in raw:
        entry = body.obj(item, "items")
        if entry is None:
            continue
        if body.missing(entry, "context"):
            continue
        context = entry["context"]
        if not isinstance(context, str):
            body.wrong("properties/context", context, "a string")
            continue
        if "app_id" in entry and entry["app_id"] is not None:
            app_id = entry["app_id"]
            if isinstance(app_id, bool) or not isinstance(app_id, int):
                body.wrong("properties/app_id", app_id, "an integer")
                continue
            # -1 says "any source" explicitly.
            checks.append(RequiredCheck(context, None if app_id == -1 else app_id))
        else:
            checks.append(RequiredCheck(context, _recent_app(world, repo, context)))
    return _unique(checks)


def _contexts_from(
    body: BodyValidator, world: World, repo: RepoRecord, obj: Mapping[str, Any]
) -> list[RequiredCheck]:
    names = body.strings(obj, "contexts")
    return _unique([RequiredCheck(name, _recent_app(world, repo, name)) for name in names])


def _unique(checks: list[RequiredCheck]) -> list[RequiredCheck]:
    seen: dict[str, RequiredCheck] = {}
    for check in checks:
        seen[check.context] = check  # one entry per context; the last one named wins
    return list(seen.values())


def _status_checks_for_put(
    body: BodyValidator, world: World, repo: RepoRecord, raw: Any
) -> StatusChecksRecord | None:
    if raw is None:
        return None
    obj = body.obj(raw, "properties/required_status_checks", nullable=True)
    if obj is None:
        return None
    if ("checks" in obj) == ("contexts" in obj):
        # Observed answer when neither is sent (google/go-github#2976); sending both is
        # refused too ("If you provide both or neither, you will get an Invalid Request").
        body.problems += [
            'No subschema in "anyOf" matched.',
            'No subschema in "oneOf" matched.',
            'Not all subschemas of "allOf" matched.',
            f"For 'anyOf/1', {ruby_inspect(obj)} is not a null.",
        ]
        return None
    strict = body.boolean(obj, "strict", required=True)
    if "checks" in obj:
        checks = _checks_from(body, world, repo, obj["checks"], "properties/checks")
    else:
        checks = _contexts_from(body, world, repo, obj)
    return StatusChecksRecord(strict=bool(strict), checks=checks)


def _reviews(body: BodyValidator, raw: Any) -> ReviewsRecord | None:
    obj = body.obj(raw, "properties/required_pull_request_reviews", nullable=True)
    if obj is None:
        return None
    count = obj.get("required_approving_review_count", 0)
    if isinstance(count, bool) or not isinstance(count, int):
        body.wrong("properties/required_approving_review_count", count, "an integer")
        count = 0
    elif not 0 <= count <= MAX_APPROVALS:
        # Schema: minimum 0, maximum 6 (wording of the validator, not seen from GitHub).
        body.problems.append(
            f"{count} is {'greater' if count > MAX_APPROVALS else 'less'} than the "
            f"{'maximum' if count > MAX_APPROVALS else 'minimum'} of "
            f"{MAX_APPROVALS if count > MAX_APPROVALS else 0}."
        )
        count = 0
    return ReviewsRecord(
        dismiss_stale_reviews=bool(body.boolean(obj, "dismiss_stale_reviews")),
        require_code_owner_reviews=bool(body.boolean(obj, "require_code_owner_reviews")),
        required_approving_review_count=count,
        require_last_push_approval=bool(body.boolean(obj, "require_last_push_approval")),
        dismissal_restrictions=_allowances(
            body, obj["dismissal_restrictions"], "dismissal_restrictions", required_lists=False
        )
        if "dismissal_restrictions" in obj
        else None,
        bypass_pull_request_allowances=_allowances(
            body,
            obj["bypass_pull_request_allowances"],
            "bypass_pull_request_allowances",
            required_lists=False,
        )
        if "bypass_pull_request_allowances" in obj
        else None,
    )


def protection_from_put(
    world: World, repo: RepoRecord, branch: str, raw: Any, doc: str = DOC_PUT
) -> ProtectionRecord:
    """The protection a PUT body describes; GitHub's 422 when it describes none."""
    body = BodyValidator()
    obj = body.obj(raw, "links/0/schema")
    if obj is None:
        body.raise_if_any(doc)
        raise AssertionError("unreachable")
    missing = [
        key
        for key in (
            "required_status_checks",
            "enforce_admins",
            "required_pull_request_reviews",
            "restrictions",
        )
        if body.missing(obj, key)
    ]
    status_checks = (
        _status_checks_for_put(body, world, repo, obj["required_status_checks"])
        if "required_status_checks" not in missing
        else None
    )
    enforce_admins = body.boolean(obj, "enforce_admins", nullable=True)
    reviews = (
        _reviews(body, obj["required_pull_request_reviews"])
        if "required_pull_request_reviews" not in missing
        else None
    )
    restrictions = None
    if "restrictions" not in missing and obj["restrictions"] is not None:
        restrictions = _allowances(body, obj["restrictions"], "restrictions", required_lists=True)
    flags = dict(PROTECTION_FLAGS)
    for flag in PROTECTION_FLAGS:
        value = body.boolean(obj, flag, nullable=True)
        if value is not None:
            flags[flag] = value
    body.raise_if_any(doc)
    if restrictions is not None and repo.owner.type != "Organization":
        raise ApiError(
            422,
            "Only organization repositories can have users and team restrictions",
            documentation_url=doc,
        )
    old = world.protections.get((repo.id, branch))
    return ProtectionRecord(
        repo_id=repo.id,
        branch=branch,
        status_checks=status_checks,
        enforce_admins=bool(enforce_admins),
        reviews=reviews,
        restrictions=restrictions,
        flags=flags,
        # Signatures have endpoints of their own; a PUT leaves them as they were.
        required_signatures=old.required_signatures if old else False,
    )


def patch_status_checks(
    world: World, repo: RepoRecord, protection: ProtectionRecord, raw: Any
) -> StatusChecksRecord:
    """Apply a PATCH of required_status_checks (every key optional; `checks` beats
    `contexts` when both are sent)."""
    current = protection.status_checks
    if current is None:
        raise not_found("Required status checks not enabled", DOC_STATUS_PATCH)
    body = BodyValidator()
    obj = body.obj({} if raw is None else raw, "links/0/schema")
    if obj is None:
        body.raise_if_any(DOC_STATUS_PATCH)
        raise AssertionError("unreachable")
    strict = body.boolean(obj, "strict")
    checks = current.checks
    if "checks" in obj:
        checks = _checks_from(body, world, repo, obj["checks"], "properties/checks")
    elif "contexts" in obj:
        checks = _contexts_from(body, world, repo, obj)
    body.raise_if_any(DOC_STATUS_PATCH)
    return StatusChecksRecord(
        strict=current.strict if strict is None else strict, checks=list(checks)
    )
