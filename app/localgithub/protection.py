"""Branch protection (classic) and repository rulesets: GitHub's checks of the request bodies,
the JSON GitHub answers with, and what they demand of a pull request before it may merge.

Sources: the REST reference (request schemas: `repos/update-branch-protection` wants the four
top-level keys, `required_status_checks` wants `strict` and exactly one of `checks`/`contexts`;
`update-status-check-protection` takes any of them and prefers `checks`), "About protected
branches" ("Required status checks must have a successful, skipped, or neutral status"), and
the 405 messages the merge endpoint is seen to give. Wording that is not documented anywhere
is marked as such where it is produced.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.localgithub.checks import ruby_inspect
from app.localgithub.errors import ApiError, invalid_request
from app.localgithub.payloads import JsonObject, PayloadBuilder, node_id
from app.localgithub.protection_records import (
    PROTECTION_FLAGS,
    Allowances,
    ProtectionRecord,
    RequiredCheck,
    ReviewsRecord,
    RulesetRecord,
    StatusChecksRecord,
)
from app.localgithub.records import COMPLETED, PullRecord, RepoRecord
from app.localgithub.state import World
from app.localgithub.timeutil import iso, now

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
DOC_RULESETS = "https://docs.github.com/rest/repos/rules#get-all-repository-rulesets"
DOC_RULESET_CREATE = "https://docs.github.com/rest/repos/rules#create-a-repository-ruleset"
DOC_RULESET_GET = "https://docs.github.com/rest/repos/rules#get-a-repository-ruleset"
DOC_RULESET_UPDATE = "https://docs.github.com/rest/repos/rules#update-a-repository-ruleset"
DOC_BRANCH_RULES = "https://docs.github.com/rest/repos/rules#get-rules-for-a-branch"

# "Required status checks must have a successful, skipped, or neutral status."
PASSING = ("success", "neutral", "skipped")

# A check named in `contexts` (or in `checks` without `app_id`) is tied to the app that set
# it recently; the troubleshooting page speaks of "the past seven days".
RECENT = timedelta(days=7)

MAX_APPROVALS = 6

ENFORCEMENTS = ("disabled", "active", "evaluate")
TARGETS = ("branch", "tag", "push")
ACTOR_TYPES = ("Integration", "OrganizationAdmin", "RepositoryRole", "Team", "DeployKey")
BYPASS_MODES = ("always", "pull_request", "exempt")
RULE_TYPES = (
    "creation",
    "update",
    "deletion",
    "required_linear_history",
    "merge_queue",
    "required_deployments",
    "required_signatures",
    "pull_request",
    "required_status_checks",
    "non_fast_forward",
    "commit_message_pattern",
    "commit_author_email_pattern",
    "committer_email_pattern",
    "branch_name_pattern",
    "tag_name_pattern",
    "file_path_restriction",
    "max_file_path_length",
    "file_extension_restriction",
    "max_file_size",
    "workflows",
    "code_scanning",
    "copilot_code_review",
)


def not_found(message: str, doc: str) -> ApiError:
    return ApiError(404, message, documentation_url=doc)


# -- reading request bodies ---------------------------------------------------------------


class _Body:
    """Collects schema problems one line each, in the words GitHub's validator uses."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def missing(self, obj: Mapping[str, Any], key: str) -> bool:
        if key in obj:
            return False
        self.problems.append(f'"{key}" wasn\'t supplied.')
        return True

    def wrong(self, path: str, value: Any, kind: str) -> None:
        self.problems.append(f"For '{path}', {ruby_inspect(value)} is not {kind}.")

    def boolean(
        self, obj: Mapping[str, Any], key: str, *, required: bool = False, nullable: bool = False
    ) -> bool | None:
        if key not in obj:
            if required:
                self.missing(obj, key)
            return None
        value = obj[key]
        if value is None and nullable:
            return None
        if not isinstance(value, bool):
            self.wrong(f"properties/{key}", value, "a boolean")
            return None
        return value

    def strings(self, obj: Mapping[str, Any], key: str, *, required: bool = False) -> list[str]:
        if key not in obj:
            if required:
                self.missing(obj, key)
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.wrong(f"properties/{key}", value, "an array")
            return []
        bad = [item for item in value if not isinstance(item, str)]
        for item in bad:
            self.wrong("items", item, "a string")
        return [item for item in value if isinstance(item, str)]

    def obj(self, value: Any, path: str, *, nullable: bool = False) -> Mapping[str, Any] | None:
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            self.wrong(path, value, "an object" if not nullable else "an object or null")
            return None
        return value

    def raise_if_any(self, doc: str) -> None:
        if self.problems:
            raise invalid_request(self.problems, doc)


def _allowances(body: _Body, raw: Any, key: str, *, required_lists: bool) -> Allowances | None:
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
    body: _Body, world: World, repo: RepoRecord, raw: Any, path: str
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
    body: _Body, world: World, repo: RepoRecord, obj: Mapping[str, Any]
) -> list[RequiredCheck]:
    names = body.strings(obj, "contexts")
    return _unique([RequiredCheck(name, _recent_app(world, repo, name)) for name in names])


def _unique(checks: list[RequiredCheck]) -> list[RequiredCheck]:
    seen: dict[str, RequiredCheck] = {}
    for check in checks:
        seen[check.context] = check  # one entry per context; the last one named wins
    return list(seen.values())


def _status_checks_for_put(
    body: _Body, world: World, repo: RepoRecord, raw: Any
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


def _reviews(body: _Body, raw: Any) -> ReviewsRecord | None:
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
    body = _Body()
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
    body = _Body()
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


# -- rendering ------------------------------------------------------------------------------


def protection_url(builder: PayloadBuilder, repo: RepoRecord, branch: str) -> str:
    return f"{builder.base}/repos/{repo.full_name}/branches/{branch}/protection"


def status_checks_json(
    builder: PayloadBuilder, repo: RepoRecord, branch: str, checks: StatusChecksRecord
) -> JsonObject:
    url = f"{protection_url(builder, repo, branch)}/required_status_checks"
    return {
        "url": url,
        "strict": checks.strict,
        "contexts": [check.context for check in checks.checks],
        "contexts_url": f"{url}/contexts",
        "checks": [{"context": c.context, "app_id": c.app_id} for c in checks.checks],
    }


def _team(builder: PayloadBuilder, repo: RepoRecord, slug: str) -> JsonObject:
    # The emulator has no teams; a named team is shown with a stable made-up id.
    team_id = zlib.crc32(f"{repo.owner.login}/{slug}".encode()) % 10_000_000 + 1
    api = f"{builder.base}/orgs/{repo.owner.login}/teams/{slug}"
    return {
        "id": team_id,
        "node_id": node_id("Team", team_id),
        "url": api,
        "html_url": f"{builder.base}/orgs/{repo.owner.login}/teams/{slug}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{api}/members{{/member}}",
        "repositories_url": f"{api}/repos",
        "parent": None,
    }


def _app_by_slug(builder: PayloadBuilder, slug: str) -> JsonObject:
    for record in builder.world.apps.values():
        if record.app.slug == slug:
            return builder.app(record)
    return {"slug": slug}


def allowances_json(
    builder: PayloadBuilder, repo: RepoRecord, allowances: Allowances, url: str | None
) -> JsonObject:
    body: JsonObject = {}
    if url is not None:
        body = {"url": url, "users_url": f"{url}/users", "teams_url": f"{url}/teams"}
    body.update(
        {
            "users": [builder.user(builder.world.account(login)) for login in allowances.users],
            "teams": [_team(builder, repo, slug) for slug in allowances.teams],
            "apps": [_app_by_slug(builder, slug) for slug in allowances.apps],
        }
    )
    return body


def protection_json(
    builder: PayloadBuilder, repo: RepoRecord, protection: ProtectionRecord
) -> JsonObject:
    """GET .../protection: sections that are off are left out, as GitHub does."""
    url = protection_url(builder, repo, protection.branch)
    body: JsonObject = {"url": url}
    if protection.status_checks is not None:
        body["required_status_checks"] = status_checks_json(
            builder, repo, protection.branch, protection.status_checks
        )
    reviews = protection.reviews
    if reviews is not None:
        reviews_url = f"{url}/required_pull_request_reviews"
        section: JsonObject = {"url": reviews_url}
        if reviews.dismissal_restrictions is not None:
            section["dismissal_restrictions"] = allowances_json(
                builder,
                repo,
                reviews.dismissal_restrictions,
                f"{url}/dismissal_restrictions",
            )
        section.update(
            {
                "dismiss_stale_reviews": reviews.dismiss_stale_reviews,
                "require_code_owner_reviews": reviews.require_code_owner_reviews,
                "require_last_push_approval": reviews.require_last_push_approval,
                "required_approving_review_count": reviews.required_approving_review_count,
            }
        )
        if reviews.bypass_pull_request_allowances is not None:
            section["bypass_pull_request_allowances"] = allowances_json(
                builder, repo, reviews.bypass_pull_request_allowances, None
            )
        body["required_pull_request_reviews"] = section
    body["required_signatures"] = {
        "url": f"{url}/required_signatures",
        "enabled": protection.required_signatures,
    }
    body["enforce_admins"] = {"url": f"{url}/enforce_admins", "enabled": protection.enforce_admins}
    for flag in PROTECTION_FLAGS:
        body[flag] = {"enabled": protection.flags.get(flag, False)}
    if protection.restrictions is not None:
        restrictions = allowances_json(
            builder, repo, protection.restrictions, f"{url}/restrictions"
        )
        restrictions["apps_url"] = f"{url}/restrictions/apps"
        body["restrictions"] = restrictions
    return body


def branch_protection_summary(world: World, repo: RepoRecord, branch: str) -> JsonObject:
    """The `protection` object of GET .../branches/{branch}."""
    protection = world.protections.get((repo.id, branch))
    checks = protection.status_checks if protection else None
    if checks is None:
        level = "off"
    else:
        level = "everyone" if protection and protection.enforce_admins else "non_admins"
    return {
        "enabled": protection is not None,
        "required_status_checks": {
            "enforcement_level": level,
            "contexts": [check.context for check in checks.checks] if checks else [],
            "checks": [{"context": c.context, "app_id": c.app_id} for c in checks.checks]
            if checks
            else [],
        },
    }


# -- rulesets -------------------------------------------------------------------------------


def _rule(body: _Body, raw: Any) -> dict[str, Any] | None:
    rule = body.obj(raw, "items")
    if rule is None or body.missing(rule, "type"):
        return None
    kind = rule["type"]
    if kind not in RULE_TYPES:
        members = ", ".join(f'"{name}"' for name in RULE_TYPES)
        body.problems.append(
            f"For 'properties/type', {ruby_inspect(kind)} is not a member of [{members}]."
        )
        return None
    if kind != "required_status_checks":
        return {key: value for key, value in rule.items() if key in ("type", "parameters")}
    if body.missing(rule, "parameters"):
        return None
    parameters = body.obj(rule["parameters"], "properties/parameters")
    if parameters is None:
        return None
    strict = body.boolean(parameters, "strict_required_status_checks_policy", required=True)
    do_not_enforce = body.boolean(parameters, "do_not_enforce_on_create")
    if body.missing(parameters, "required_status_checks"):
        return None
    raw_checks = parameters["required_status_checks"]
    if not isinstance(raw_checks, list):
        body.wrong("properties/required_status_checks", raw_checks, "an array")
        return None
    checks = []
    for item in raw_checks:
        entry = body.obj(item, "items")
        if entry is None or body.missing(entry, "context"):
            continue
        if not isinstance(entry["context"], str):
            body.wrong("properties/context", entry["context"], "a string")
            continue
        check: dict[str, Any] = {"context": entry["context"]}
        integration = entry.get("integration_id")
        if integration is not None:
            if isinstance(integration, bool) or not isinstance(integration, int):
                body.wrong("properties/integration_id", integration, "an integer")
                continue
            check["integration_id"] = integration
        checks.append(check)
    out: dict[str, Any] = {
        "strict_required_status_checks_policy": bool(strict),
        "required_status_checks": checks,
    }
    if do_not_enforce is not None:
        out["do_not_enforce_on_create"] = do_not_enforce
    return {"type": kind, "parameters": out}


def _enum(body: _Body, obj: Mapping[str, Any], key: str, members: Sequence[str]) -> str | None:
    if key not in obj:
        return None
    value = obj[key]
    if value not in members:
        listed = ", ".join(f'"{member}"' for member in members)
        body.problems.append(
            f"For 'properties/{key}', {ruby_inspect(value)} is not a member of [{listed}]."
        )
        return None
    return str(value)


def _ruleset_fields(body: _Body, obj: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if creating:
        body.missing(obj, "name")
        body.missing(obj, "enforcement")
    if "name" in obj:
        if isinstance(obj["name"], str):
            fields["name"] = obj["name"]
        else:
            body.wrong("properties/name", obj["name"], "a string")
    for key, members in (("enforcement", ENFORCEMENTS), ("target", TARGETS)):
        value = _enum(body, obj, key, members)
        if value is not None:
            fields[key] = value
    if "bypass_actors" in obj:
        actors = obj["bypass_actors"]
        if not isinstance(actors, list):
            body.wrong("properties/bypass_actors", actors, "an array")
        else:
            kept = []
            for raw in actors:
                actor = body.obj(raw, "items")
                if actor is None:
                    continue
                actor_type = _enum(body, actor, "actor_type", ACTOR_TYPES)
                mode = _enum(body, actor, "bypass_mode", BYPASS_MODES) or "always"
                if body.missing(actor, "actor_type") or actor_type is None:
                    continue
                kept.append(
                    {
                        "actor_id": actor.get("actor_id"),
                        "actor_type": actor_type,
                        "bypass_mode": mode,
                    }
                )
            fields["bypass_actors"] = kept
    if "conditions" in obj:
        conditions = body.obj(obj["conditions"], "properties/conditions", nullable=True)
        if conditions is not None:
            ref_name = body.obj(conditions.get("ref_name", {}), "properties/ref_name")
            if ref_name is not None:
                fields["conditions"] = {
                    "ref_name": {
                        "include": body.strings(ref_name, "include"),
                        "exclude": body.strings(ref_name, "exclude"),
                    }
                }
        else:
            fields["conditions"] = {}
    if "rules" in obj:
        raw_rules = obj["rules"]
        if not isinstance(raw_rules, list):
            body.wrong("properties/rules", raw_rules, "an array")
        else:
            rules = [_rule(body, raw) for raw in raw_rules]
            fields["rules"] = [rule for rule in rules if rule is not None]
    return fields


def _unique_name(world: World, repo: RepoRecord, name: str, keep: int | None, doc: str) -> None:
    for other in world.rulesets_of_repo(repo.id):
        if other.id != keep and other.name == name:
            # Wording recalled from GitHub's answers, not from its documentation.
            raise ApiError(
                422, "Validation Failed", errors=["Name must be unique"], documentation_url=doc
            )


def create_ruleset(world: World, repo: RepoRecord, raw: Any) -> RulesetRecord:
    body = _Body()
    obj = body.obj(raw, "links/0/schema")
    fields = _ruleset_fields(body, obj or {}, creating=True)
    body.raise_if_any(DOC_RULESET_CREATE)
    _unique_name(world, repo, fields["name"], None, DOC_RULESET_CREATE)
    moment = now()
    record = RulesetRecord(
        id=world.next_ruleset_id(),
        repo_id=repo.id,
        name=fields["name"],
        target=fields.get("target", "branch"),
        enforcement=fields["enforcement"],
        bypass_actors=fields.get("bypass_actors", []),
        conditions=fields.get("conditions", {}),
        rules=fields.get("rules", []),
        created_at=moment,
        updated_at=moment,
    )
    world.rulesets[record.id] = record
    return record


def update_ruleset(world: World, repo: RepoRecord, ruleset: RulesetRecord, raw: Any) -> None:
    body = _Body()
    obj = body.obj({} if raw is None else raw, "links/0/schema")
    fields = _ruleset_fields(body, obj or {}, creating=False)
    body.raise_if_any(DOC_RULESET_UPDATE)
    if "name" in fields:
        _unique_name(world, repo, fields["name"], ruleset.id, DOC_RULESET_UPDATE)
    for key, value in fields.items():
        setattr(ruleset, key, value)
    ruleset.updated_at = now()


def ruleset_json(
    builder: PayloadBuilder, repo: RepoRecord, ruleset: RulesetRecord, *, full: bool, admin: bool
) -> JsonObject:
    api = f"{builder.base}/repos/{repo.full_name}/rulesets/{ruleset.id}"
    body: JsonObject = {
        "id": ruleset.id,
        "name": ruleset.name,
        "target": ruleset.target,
        "source_type": "Repository",
        "source": repo.full_name,
        "enforcement": ruleset.enforcement,
    }
    if full:
        if admin:
            # Only those who may edit the ruleset are shown who may bypass it.
            body["bypass_actors"] = [dict(actor) for actor in ruleset.bypass_actors]
        body["current_user_can_bypass"] = "never"
        body["conditions"] = dict(ruleset.conditions)
        body["rules"] = [dict(rule) for rule in ruleset.rules]
    body.update(
        {
            "node_id": node_id("RepositoryRuleset", ruleset.id),
            "_links": {
                "self": {"href": api},
                "html": {"href": f"{builder.base}/{repo.full_name}/rules/{ruleset.id}"},
            },
            "created_at": iso(ruleset.created_at),
            "updated_at": iso(ruleset.updated_at),
        }
    )
    return body


def _pattern(pattern: str) -> re.Pattern[str]:
    """fnmatch as rulesets use it: `*` stays within one path segment, `**` crosses them."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("^" + "".join(out) + "$")


def ruleset_applies(ruleset: RulesetRecord, repo: RepoRecord, branch: str) -> bool:
    """An active branch ruleset whose conditions take in refs/heads/<branch>."""
    if ruleset.target != "branch" or ruleset.enforcement != "active":
        return False
    ref = f"refs/heads/{branch}"
    ref_name = ruleset.conditions.get("ref_name") or {}

    def matches(pattern: str) -> bool:
        if pattern == "~ALL":
            return True
        if pattern == "~DEFAULT_BRANCH":
            return branch == repo.default_branch
        return _pattern(pattern).match(ref) is not None

    return any(matches(p) for p in ref_name.get("include", [])) and not any(
        matches(p) for p in ref_name.get("exclude", [])
    )


def branch_rules(world: World, repo: RepoRecord, branch: str) -> list[JsonObject]:
    """GET .../rules/branches/{branch}: every rule of every active ruleset for the branch."""
    rules = []
    for ruleset in world.rulesets_of_repo(repo.id):
        if not ruleset_applies(ruleset, repo, branch):
            continue
        for rule in ruleset.rules:
            rules.append(
                {
                    **rule,
                    "ruleset_source_type": "Repository",
                    "ruleset_source": repo.full_name,
                    "ruleset_id": ruleset.id,
                }
            )
    return rules


# -- what a pull request needs before it merges ----------------------------------------------


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
