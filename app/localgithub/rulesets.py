"""Repository rulesets: GitHub's checks of the POST and PUT .../rulesets bodies, the rulesets
as its JSON shows them, which branches a ruleset applies to (its ref patterns), and GET
.../rules/branches/{branch}. Only active branch rulesets apply; what they demand of a merge
is merge_gate.py's to say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.localgithub.body_validation import BodyValidator
from app.localgithub.checks import ruby_inspect
from app.localgithub.errors import ApiError
from app.localgithub.json_base import JsonObject, node_id
from app.localgithub.payloads import PayloadBuilder
from app.localgithub.protection_records import RulesetRecord
from app.localgithub.records import RepoRecord
from app.localgithub.state import World
from app.localgithub.timeutil import iso, now

DOC_RULESETS = "https://docs.github.com/rest/repos/rules#get-all-repository-rulesets"
DOC_RULESET_CREATE = "https://docs.github.com/rest/repos/rules#create-a-repository-ruleset"
DOC_RULESET_GET = "https://docs.github.com/rest/repos/rules#get-a-repository-ruleset"
DOC_RULESET_UPDATE = "https://docs.github.com/rest/repos/rules#update-a-repository-ruleset"
DOC_BRANCH_RULES = "https://docs.github.com/rest/repos/rules#get-rules-for-a-branch"

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


def _rule(body: BodyValidator, raw: Any) -> dict[str, Any] | None:
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


def _enum(
    body: BodyValidator, obj: Mapping[str, Any], key: str, members: Sequence[str]
) -> str | None:
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


def _ruleset_fields(
    body: BodyValidator, obj: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
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
    body = BodyValidator()
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
    body = BodyValidator()
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
