"""REST endpoints for branches, classic branch protection and repository rulesets.

Permissions are GitHub's for installation tokens ("Permissions required for GitHub Apps"):
protection needs Administration (read to look, write to change); rulesets and the rules of a
branch can be read with Metadata alone, and changed with Administration write; reading a
branch needs Contents read.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.localgithub import auth, gitcmd
from app.localgithub.api_common import hub_of, json_response, paginate, read_json, require_repo
from app.localgithub.auth import Principal
from app.localgithub.errors import not_found
from app.localgithub.hub import Hub
from app.localgithub.protection import (
    DOC_BRANCH,
    DOC_DELETE,
    DOC_GET,
    DOC_PUT,
    DOC_STATUS_GET,
    DOC_STATUS_PATCH,
    patch_status_checks,
    protection_from_put,
)
from app.localgithub.protection import not_found as missing
from app.localgithub.protection_json import (
    branch_protection_summary,
    protection_json,
    status_checks_json,
)
from app.localgithub.protection_records import ProtectionRecord, RulesetRecord
from app.localgithub.records import RepoRecord
from app.localgithub.rulesets import (
    DOC_BRANCH_RULES,
    DOC_RULESET_CREATE,
    DOC_RULESET_GET,
    DOC_RULESET_UPDATE,
    DOC_RULESETS,
    branch_rules,
    create_ruleset,
    ruleset_json,
    update_ruleset,
)

ADMIN_READ = ("administration", "read")
ADMIN_WRITE = ("administration", "write")
METADATA_READ = ("metadata", "read")
CONTENTS_READ = ("contents", "read")

routes = web.RouteTableDef()


async def _branch(request: web.Request, repo: RepoRecord, doc: str) -> tuple[str, str]:
    """The branch named in the path and its tip; GitHub's 404 "Branch not found"."""
    branch = request.match_info["branch"]
    tip = await gitcmd.branch_tip(repo.bare_path, branch)
    if tip is None:
        raise missing("Branch not found", doc)
    return branch, tip


def _protection(hub: Hub, repo: RepoRecord, branch: str, doc: str) -> ProtectionRecord:
    found = hub.world.protections.get((repo.id, branch))
    if found is None:
        raise missing("Branch not protected", doc)
    return found


# Routes with a `{branch:.+}` are added most specific first: aiohttp tries them in order, and
# branch names may contain slashes.


@routes.get(
    "/repos/{owner}/{repo}/branches/{branch:.+}/protection/required_status_checks",
    name="api-status-checks-get",
)
async def get_status_checks(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_STATUS_GET, ADMIN_READ)
    hub = hub_of(request)
    branch, _ = await _branch(request, repo, DOC_STATUS_GET)
    protection = _protection(hub, repo, branch, DOC_STATUS_GET)
    if protection.status_checks is None:
        raise missing("Required status checks not enabled", DOC_STATUS_GET)
    return json_response(status_checks_json(hub.builder, repo, branch, protection.status_checks))


@routes.patch(
    "/repos/{owner}/{repo}/branches/{branch:.+}/protection/required_status_checks",
    name="api-status-checks-patch",
)
async def patch_status_checks_endpoint(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_STATUS_PATCH, ADMIN_WRITE)
    hub = hub_of(request)
    branch, _ = await _branch(request, repo, DOC_STATUS_PATCH)
    protection = _protection(hub, repo, branch, DOC_STATUS_PATCH)
    body = await read_json(request, DOC_STATUS_PATCH)
    protection.status_checks = patch_status_checks(hub.world, repo, protection, body)
    return json_response(status_checks_json(hub.builder, repo, branch, protection.status_checks))


@routes.get("/repos/{owner}/{repo}/branches/{branch:.+}/protection", name="api-protection-get")
async def get_protection(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_GET, ADMIN_READ)
    hub = hub_of(request)
    branch, _ = await _branch(request, repo, DOC_GET)
    protection = _protection(hub, repo, branch, DOC_GET)
    return json_response(protection_json(hub.builder, repo, protection))


@routes.put("/repos/{owner}/{repo}/branches/{branch:.+}/protection", name="api-protection-put")
async def put_protection(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_PUT, ADMIN_WRITE)
    hub = hub_of(request)
    branch, _ = await _branch(request, repo, DOC_PUT)
    body = await read_json(request, DOC_PUT)
    protection = protection_from_put(hub.world, repo, branch, body)
    hub.world.protections[(repo.id, branch)] = protection
    return json_response(protection_json(hub.builder, repo, protection))


@routes.delete(
    "/repos/{owner}/{repo}/branches/{branch:.+}/protection", name="api-protection-delete"
)
async def delete_protection(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_DELETE, ADMIN_WRITE)
    hub = hub_of(request)
    branch, _ = await _branch(request, repo, DOC_DELETE)
    _protection(hub, repo, branch, DOC_DELETE)
    del hub.world.protections[(repo.id, branch)]
    return web.Response(status=204)


@routes.get("/repos/{owner}/{repo}/branches/{branch:.+}", name="api-branch")
async def get_branch(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_BRANCH, CONTENTS_READ)
    hub = hub_of(request)
    branch, tip = await _branch(request, repo, DOC_BRANCH)
    api = f"{hub.world.url}/repos/{repo.full_name}"
    commit = hub.builder.commit(repo, await gitcmd.commit_entry(repo.bare_path, tip))
    return json_response(
        {
            "name": branch,
            "commit": commit,
            "_links": {
                "self": f"{api}/branches/{branch}",
                "html": f"{hub.world.url}/{repo.full_name}/tree/{branch}",
            },
            "protected": (repo.id, branch) in hub.world.protections,
            "protection": branch_protection_summary(hub.world, repo, branch),
            "protection_url": f"{api}/branches/{branch}/protection",
        }
    )


# -- rulesets -------------------------------------------------------------------------------


def _is_admin(principal: Principal) -> bool:
    return auth.has_permission(principal, *ADMIN_WRITE)


@routes.get("/repos/{owner}/{repo}/rulesets", name="api-rulesets")
async def list_rulesets(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_RULESETS, METADATA_READ)
    hub = hub_of(request)
    items = [
        ruleset_json(hub.builder, repo, ruleset, full=False, admin=_is_admin(principal))
        for ruleset in hub.world.rulesets_of_repo(repo.id)
    ]
    page, headers = paginate(request, items)
    return json_response(page, headers=headers)


@routes.post("/repos/{owner}/{repo}/rulesets", name="api-ruleset-create")
async def post_ruleset(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_RULESET_CREATE, ADMIN_WRITE)
    hub = hub_of(request)
    body = await read_json(request, DOC_RULESET_CREATE)
    ruleset = create_ruleset(hub.world, repo, body)
    return json_response(
        ruleset_json(hub.builder, repo, ruleset, full=True, admin=True), status=201
    )


def _ruleset(request: web.Request, repo: RepoRecord, doc: str) -> RulesetRecord:
    try:
        ruleset_id = int(request.match_info["ruleset_id"])
    except ValueError as exc:
        raise not_found(doc) from exc
    ruleset = hub_of(request).world.rulesets.get(ruleset_id)
    if ruleset is None or ruleset.repo_id != repo.id:
        raise not_found(doc)
    return ruleset


@routes.get("/repos/{owner}/{repo}/rulesets/{ruleset_id}", name="api-ruleset-get")
async def get_ruleset(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_RULESET_GET, METADATA_READ)
    ruleset = _ruleset(request, repo, DOC_RULESET_GET)
    hub = hub_of(request)
    return json_response(
        ruleset_json(hub.builder, repo, ruleset, full=True, admin=_is_admin(principal))
    )


@routes.put("/repos/{owner}/{repo}/rulesets/{ruleset_id}", name="api-ruleset-update")
async def put_ruleset(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_RULESET_UPDATE, ADMIN_WRITE)
    ruleset = _ruleset(request, repo, DOC_RULESET_UPDATE)
    hub = hub_of(request)
    body: Any = await read_json(request, DOC_RULESET_UPDATE)
    update_ruleset(hub.world, repo, ruleset, body)
    return json_response(ruleset_json(hub.builder, repo, ruleset, full=True, admin=True))


@routes.get("/repos/{owner}/{repo}/rules/branches/{branch:.+}", name="api-branch-rules")
async def get_branch_rules(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_BRANCH_RULES, METADATA_READ)
    # Any branch name is accepted, existing or not: rules are about names.
    branch = request.match_info["branch"]
    page, headers = paginate(request, branch_rules(hub_of(request).world, repo, branch))
    return json_response(page, headers=headers)
