"""Pieces every REST handler uses: who is calling (and charging them a request), reading the
body, answering JSON, and GitHub-style pagination."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from aiohttp import web

from app.localgithub import auth
from app.localgithub.auth import Principal
from app.localgithub.errors import ApiError, not_accessible_by_integration, not_found
from app.localgithub.hub import Hub
from app.localgithub.records import AppRecord, RepoRecord

HUB_KEY = web.AppKey("localgithub_hub", Hub)
# What a request turned out to be, for the call log and the rate-limit headers.
AUTH_KIND = web.RequestKey("localgithub_auth_kind", str)
PRINCIPAL = web.RequestKey("localgithub_principal", Principal)
RATE_KEY = web.RequestKey("localgithub_rate_key", str)

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB_KEY]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


async def read_json(request: web.Request, documentation_url: str) -> Any:
    """The parsed body; None when there is none. Unparseable JSON is GitHub's 400."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "Problems parsing JSON", documentation_url=documentation_url) from exc


def rate_key(principal: Principal) -> str:
    if principal.installation is not None:
        return f"installation:{principal.installation.id}"
    return f"app:{principal.app.id}"


def anonymous_key(request: web.Request) -> str:
    return f"anonymous:{request.remote or 'unknown'}"


def authenticate(request: web.Request, documentation_url: str) -> Principal:
    hub = hub_of(request)
    now = time.time()
    header = request.headers.get("Authorization")
    request[AUTH_KIND] = _claimed_kind(header)
    principal = auth.authenticate(hub.world, header, now)
    request[PRINCIPAL] = principal
    key = rate_key(principal)
    request[RATE_KEY] = key
    allowed, state = hub.limiter.consume(key, now)
    if not allowed:
        who = (
            f"installation ID {principal.installation.id}"
            if principal.installation
            else f"app ID {principal.app.id}"
        )
        raise ApiError(
            403,
            f"API rate limit exceeded for {who}. If you reach out to GitHub Support for help, "
            "please include the request ID.",
            documentation_url="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            headers=state.headers(),
        )
    return principal


def _claimed_kind(header: str | None) -> str:
    if not header:
        return "none"
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() == "bearer" and credential.strip().count(".") == 2:
        return "jwt"
    return "token"


def require_app(request: web.Request, documentation_url: str) -> AppRecord:
    """Endpoints only an app's JWT may call."""
    principal = authenticate(request, documentation_url)
    if principal.kind != "jwt":
        raise ApiError(401, auth.MSG_UNDECODABLE, documentation_url=documentation_url)
    return principal.app


def require_repo(
    request: web.Request,
    documentation_url: str,
    permission: tuple[str, str] | None,
) -> tuple[Principal, RepoRecord]:
    """An installation token that can see /repos/{owner}/{repo} and holds `permission`."""
    principal = authenticate(request, documentation_url)
    if principal.kind != "token":
        raise not_accessible_by_integration(documentation_url)
    repo = hub_of(request).world.find_repo(request.match_info["owner"], request.match_info["repo"])
    if repo is None or not auth.can_reach(principal, repo.id):
        # GitHub does not reveal that a repository it will not show you exists.
        raise not_found(documentation_url)
    if permission is not None and not auth.has_permission(principal, *permission):
        raise not_accessible_by_integration(
            documentation_url, accepted=f"{permission[0]}={permission[1]}"
        )
    return principal, repo


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return default


def paginate(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` and the Link header GitHub would send with it."""
    per_page = min(max(_int_param(request, "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_int_param(request, "page", 1), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    chosen = items[(page - 1) * per_page : page * per_page]
    links = []

    def link(number: int, rel: str) -> str:
        url = request.url.update_query(per_page=str(per_page), page=str(number))
        return f'<{url}>; rel="{rel}"'

    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
        links.append(link(last, "last"))
    if page > 1:
        links.append(link(1, "first"))
    return chosen, ({"Link": ", ".join(links)} if links else {})
