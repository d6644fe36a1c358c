"""REST endpoints an app calls with its JWT: itself, its installations (and uninstalling itself
from one), installation access tokens, and its webhook deliveries (list and redeliver)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from app.localgithub.api_common import hub_of, json_response, paginate, read_json, require_app
from app.localgithub.auth import new_token
from app.localgithub.errors import ApiError, not_found
from app.localgithub.models import IssuedToken, WebhookDelivery
from app.localgithub.records import AppRecord, InstallationRecord, TokenRecord
from app.localgithub.timeutil import from_epoch, iso, iso_required

DOC_APP = "https://docs.github.com/rest/apps/apps#get-the-authenticated-app"
DOC_INSTALLATIONS = (
    "https://docs.github.com/rest/apps/apps#list-installations-for-the-authenticated-app"
)
DOC_INSTALLATION = (
    "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app"
)
DOC_DELETE_INSTALLATION = (
    "https://docs.github.com/rest/apps/apps#delete-an-installation-for-the-authenticated-app"
)
DOC_INSTALLATION_ACCESS = (
    "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
)
DOC_DELIVERIES = "https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook"
DOC_DELIVERY = "https://docs.github.com/rest/apps/webhooks#get-a-delivery-for-an-app-webhook"
DOC_REDELIVER = "https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook"

routes = web.RouteTableDef()

_LEVELS = {"read": 1, "write": 2, "admin": 3}


def _installation_for(request: web.Request, app: AppRecord, doc: str) -> InstallationRecord:
    try:
        installation_id = int(request.match_info["installation_id"])
    except ValueError as exc:
        raise not_found(doc) from exc
    installation = hub_of(request).world.installations.get(installation_id)
    if installation is None or installation.deleted or installation.app_id != app.id:
        raise not_found(doc)
    return installation


@routes.get("/app", name="api-app")
async def get_app(request: web.Request) -> web.Response:
    app = require_app(request, DOC_APP)
    hub = hub_of(request)
    body = hub.builder.app(app)
    body["installations_count"] = sum(
        1 for inst in hub.world.installations.values() if inst.app_id == app.id and not inst.deleted
    )
    return json_response(body)


@routes.get("/app/installations", name="api-app-installations")
async def list_installations(request: web.Request) -> web.Response:
    app = require_app(request, DOC_INSTALLATIONS)
    hub = hub_of(request)
    items = [
        hub.builder.installation(inst)
        for inst in sorted(hub.world.installations.values(), key=lambda inst: inst.id)
        if inst.app_id == app.id and not inst.deleted
    ]
    page, headers = paginate(request, items)
    return json_response(page, headers=headers)


@routes.get("/app/installations/{installation_id}", name="api-app-installation")
async def get_installation(request: web.Request) -> web.Response:
    app = require_app(request, DOC_INSTALLATION)
    installation = _installation_for(request, app, DOC_INSTALLATION)
    return json_response(hub_of(request).builder.installation(installation))


@routes.delete("/app/installations/{installation_id}", name="api-app-installation-delete")
async def delete_installation(request: web.Request) -> web.Response:
    """The app uninstalls itself from an account: JWT only, 404 for an installation it does not
    have, else 204. As when the account's owner uninstalls it, the app is sent `installation`
    deleted (its sender: the app's bot, which did it; GitHub does not document who), and the
    installation's tokens stop working."""
    app = require_app(request, DOC_DELETE_INSTALLATION)
    installation = _installation_for(request, app, DOC_DELETE_INSTALLATION)
    hub = hub_of(request)
    # Queued before the installation is gone, like every webhook an API call causes.
    hub.events.installation("deleted", installation, hub.events.bot(app))
    installation.deleted = True
    return web.Response(status=204)


def _narrow_permissions(requested: Any, granted: dict[str, str]) -> dict[str, str]:
    if requested is None:
        return dict(granted)
    if not isinstance(requested, dict) or not requested:
        raise ApiError(
            422,
            "The permissions requested are not granted to this installation.",
            documentation_url=DOC_INSTALLATION_ACCESS,
        )
    narrowed: dict[str, str] = {}
    for name, level in requested.items():
        have = granted.get(name)
        if (
            not isinstance(level, str)
            or level not in _LEVELS
            or have is None
            or _LEVELS[level] > _LEVELS.get(have, 0)
        ):
            raise ApiError(
                422,
                "The permissions requested are not granted to this installation.",
                documentation_url=DOC_INSTALLATION_ACCESS,
            )
        narrowed[name] = level
    return narrowed


def _narrow_repositories(
    request: web.Request, body: dict[str, Any], installation: InstallationRecord
) -> frozenset[int] | None:
    names = body.get("repositories")
    ids = body.get("repository_ids")
    if names is None and ids is None:
        return None
    world = hub_of(request).world
    chosen: set[int] = set()
    refused = ApiError(
        422,
        "There is at least one repository that does not exist or is not accessible to the "
        "parent installation.",
        documentation_url=DOC_INSTALLATION_ACCESS,
    )
    for name in names or []:
        repo = world.find_repo(installation.account.login, name) if isinstance(name, str) else None
        if repo is None or repo.id not in installation.repo_ids:
            raise refused
        chosen.add(repo.id)
    for repo_id in ids or []:
        if not isinstance(repo_id, int) or repo_id not in installation.repo_ids:
            raise refused
        chosen.add(repo_id)
    return frozenset(chosen)


@routes.post("/app/installations/{installation_id}/access_tokens", name="api-access-token")
async def create_access_token(request: web.Request) -> web.Response:
    app = require_app(request, DOC_INSTALLATION_ACCESS)
    installation = _installation_for(request, app, DOC_INSTALLATION_ACCESS)
    body = await read_json(request, DOC_INSTALLATION_ACCESS)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ApiError(
            422,
            "Invalid request.\n\nFor 'links/0/schema', body is not an object.",
            documentation_url=DOC_INSTALLATION_ACCESS,
        )
    permissions = _narrow_permissions(body.get("permissions"), installation.permissions)
    repo_ids = _narrow_repositories(request, body, installation)
    hub = hub_of(request)
    expires = time.time() + hub.token_ttl
    token = new_token()
    hub.world.tokens[token] = TokenRecord(
        token=token,
        installation_id=installation.id,
        app_id=app.id,
        expires_at=expires,
        permissions=permissions,
        repo_ids=repo_ids,
    )
    hub.tokens_issued.append(IssuedToken(installation.id, token, from_epoch(expires)))
    answer: dict[str, Any] = {
        "token": token,
        "expires_at": iso_required(from_epoch(expires)),
        "permissions": permissions,
        "repository_selection": "selected",
    }
    if repo_ids is not None:
        answer["repositories"] = [
            hub.builder.repository(hub.world.repos[repo_id]) for repo_id in sorted(repo_ids)
        ]
    return json_response(answer, status=201)


def _delivery_status(delivery: WebhookDelivery) -> str:
    if delivery.status is None:
        return delivery.error or "failed to connect"
    if 200 <= delivery.status < 300:
        return "OK"
    return f"Invalid HTTP Response: {delivery.status}"


def _delivery_summary(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "guid": delivery.delivery_id,
        "delivered_at": iso(delivery.delivered_at),
        "redelivery": delivery.redelivery,
        "duration": round(delivery.elapsed, 2),
        "status": _delivery_status(delivery),
        "status_code": delivery.status or 0,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": delivery.installation_id,
        "repository_id": delivery.repository_id,
        "throttled_at": None,
    }


def _app_deliveries(request: web.Request, app: AppRecord) -> list[WebhookDelivery]:
    return [d for d in hub_of(request).sender.deliveries if d.app_id == app.id]


@routes.get("/app/hook/deliveries", name="api-deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    app = require_app(request, DOC_DELIVERIES)
    newest_first = sorted(_app_deliveries(request, app), key=lambda d: d.id, reverse=True)
    try:
        per_page = min(max(int(request.query.get("per_page", "30")), 1), 100)
    except ValueError:
        per_page = 30
    cursor = request.query.get("cursor")
    if cursor and cursor.isdigit():
        newest_first = [d for d in newest_first if d.id < int(cursor)]
    page = newest_first[:per_page]
    headers = {}
    if len(newest_first) > per_page:
        url = request.url.update_query(per_page=str(per_page), cursor=str(page[-1].id))
        headers["Link"] = f'<{url}>; rel="next"'
    return json_response([_delivery_summary(d) for d in page], headers=headers)


def _find_delivery(request: web.Request, app: AppRecord, doc: str) -> WebhookDelivery:
    try:
        wanted = int(request.match_info["delivery_id"])
    except ValueError as exc:
        raise not_found(doc) from exc
    for delivery in _app_deliveries(request, app):
        if delivery.id == wanted:
            return delivery
    raise not_found(doc)


@routes.get("/app/hook/deliveries/{delivery_id}", name="api-delivery")
async def get_delivery(request: web.Request) -> web.Response:
    app = require_app(request, DOC_DELIVERY)
    delivery = _find_delivery(request, app, DOC_DELIVERY)
    detail = _delivery_summary(delivery)
    detail["url"] = delivery.url
    detail["request"] = {"headers": dict(delivery.request_headers), "payload": delivery.payload()}
    detail["response"] = {
        "headers": {},
        "payload": delivery.response_body.decode("utf-8", "replace") or None,
    }
    return json_response(detail)


@routes.post("/app/hook/deliveries/{delivery_id}/attempts", name="api-redeliver")
async def redeliver(request: web.Request) -> web.Response:
    app = require_app(request, DOC_REDELIVER)
    delivery = _find_delivery(request, app, DOC_REDELIVER)
    # A redelivery keeps the original X-GitHub-Delivery and the exact same body.
    hub_of(request).sender.submit(
        app.id,
        delivery.event,
        delivery.body,
        action=delivery.action,
        installation_id=delivery.installation_id,
        repository_id=delivery.repository_id,
        delivery_id=delivery.delivery_id,
        redelivery=True,
    )
    return json_response({}, status=202)
