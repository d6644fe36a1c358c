"""Classic branch protection as GitHub's JSON shows it: GET .../protection (sections that are
off left out), its required_status_checks, and the `protection` summary of GET
.../branches/{branch}.
"""

from __future__ import annotations

import zlib

from app.localgithub.json_base import JsonObject, node_id
from app.localgithub.payloads import PayloadBuilder
from app.localgithub.protection_records import (
    PROTECTION_FLAGS,
    Allowances,
    ProtectionRecord,
    StatusChecksRecord,
)
from app.localgithub.records import RepoRecord
from app.localgithub.state import World


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
