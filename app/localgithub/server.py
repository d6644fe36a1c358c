"""The aiohttp application: routes, and the middleware that makes every API answer look like
GitHub's (JSON errors, rate-limit and request-id headers, ETags) while recording each call and
serving the faults a test injected."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from app.localgithub import (
    api_apps,
    api_checks,
    api_collaborators,
    api_protection,
    api_pulls,
    api_repos,
    git_http,
    render,
)
from app.localgithub.api_common import (
    AUTH_KIND,
    HUB_KEY,
    PRINCIPAL,
    RATE_KEY,
    anonymous_key,
    rate_key,
)
from app.localgithub.auth import authenticate
from app.localgithub.errors import ApiError
from app.localgithub.hub import Fault, Hub
from app.localgithub.models import CallRecord
from app.localgithub.timeutil import now

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

logger = logging.getLogger(__name__)

SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
SECONDARY_LIMIT_DOC = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


def _route_kind(request: web.Request) -> str:
    name = request.match_info.route.name or ""
    if name.startswith("git-"):
        return "git"
    if name.startswith("html-"):
        return "html"
    return "api"


def _request_id() -> str:
    return ":".join(
        (
            secrets.token_hex(2).upper(),
            secrets.token_hex(2).upper(),
            secrets.token_hex(3).upper(),
            secrets.token_hex(3).upper(),
            f"{int(time.time()):08X}",
        )
    )


def _error_response(error: ApiError) -> web.Response:
    response = web.Response(
        body=json.dumps(error.body()).encode("utf-8"),
        status=error.status,
        content_type="application/json",
        charset="utf-8",
    )
    response.headers.update(error.headers)
    return response


def _fault_response(fault: Fault, kind: str) -> web.Response:
    if kind == "git":
        response = web.Response(status=fault.status, text=f"{HTTPStatus(fault.status).phrase}\n")
    else:
        body = dict(fault.body) if fault.body is not None else _default_fault_body(fault.status)
        response = web.Response(
            body=json.dumps(body).encode("utf-8"),
            status=fault.status,
            content_type="application/json",
            charset="utf-8",
        )
    response.headers.update(fault.headers)
    return response


def _default_fault_body(status: int) -> dict[str, Any]:
    if status in (403, 429):
        return {"message": SECONDARY_LIMIT_MESSAGE, "documentation_url": SECONDARY_LIMIT_DOC}
    if status >= 500:
        return {"message": "Server Error"}
    return {
        "message": HTTPStatus(status).phrase,
        "documentation_url": "https://docs.github.com/rest",
    }


def _rate_key_for(request: web.Request, hub: Hub) -> str:
    key = request.get(RATE_KEY)
    if isinstance(key, str):
        return key
    # A faulted or refused call: charge nothing, but show the caller's own budget if known.
    try:
        return rate_key(authenticate(hub.world, request.headers.get("Authorization"), time.time()))
    except ApiError:
        return anonymous_key(request)


def _decoded(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    hub: Hub = request.app[HUB_KEY]
    kind = _route_kind(request)
    if kind == "html":
        return await handler(request)
    started = time.monotonic()
    started_at = now()
    request_id = _request_id()
    fault = hub.take_fault(request.method, request.path)
    response: web.StreamResponse
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        response = _fault_response(fault, kind)
    else:
        try:
            response = await handler(request)
        except ApiError as error:
            response = _error_response(error)
        except web.HTTPException as error:
            if kind != "api":
                raise
            # GitHub answers unknown paths and unsupported methods alike with a JSON 404.
            status = 404 if error.status in (404, 405) else error.status
            response = _error_response(ApiError(status, HTTPStatus(status).phrase))
        except Exception as error:
            # A bug in the emulator: say so in the answer, so that it is not mistaken for
            # something the service did wrong when the refused calls are inspected.
            logger.exception("local GitHub failed on %s %s", request.method, request.path)
            response = _error_response(ApiError(500, f"local GitHub internal error: {error!r}"))
    if kind == "api":
        _decorate_api_response(request, hub, response, request_id, fault)
    response.headers.setdefault("X-GitHub-Request-Id", request_id)
    principal = request.get(PRINCIPAL)
    request_json = None
    if kind == "api" and request.method in ("POST", "PATCH", "PUT") and request.body_exists:
        request_json = _decoded(await request.read())
    response_json = None
    if kind == "api" and isinstance(response, web.Response) and response.body is not None:
        body = response.body
        response_json = _decoded(body if isinstance(body, bytes) else b"")
    hub.calls.append(
        CallRecord(
            seq=len(hub.calls) + 1,
            kind=kind,
            method=request.method,
            path=request.path,
            query=request.query_string,
            status=response.status,
            auth=str(
                request.get(
                    AUTH_KIND, "none" if "Authorization" not in request.headers else "token"
                )
            ),
            app_id=principal.app.id if principal else None,
            installation_id=principal.installation.id
            if principal and principal.installation
            else None,
            request_id=request_id,
            started_at=started_at,
            elapsed=time.monotonic() - started,
            request_json=request_json,
            response_json=response_json,
            fault_injected=fault is not None,
        )
    )
    return response


def _decorate_api_response(
    request: web.Request,
    hub: Hub,
    response: web.StreamResponse,
    request_id: str,
    fault: Fault | None,
) -> None:
    now_epoch = time.time()
    key = _rate_key_for(request, hub)
    state = hub.limiter.peek(key, now_epoch)
    if (
        request.method == "GET"
        and response.status == 200
        and isinstance(response, web.Response)
        and isinstance(response.body, bytes)
        and fault is None
    ):
        etag = 'W/"' + hashlib.sha256(response.body).hexdigest()[:40] + '"'
        response.headers["ETag"] = etag
        if etag in request.headers.get("If-None-Match", ""):
            # GitHub does not charge conditional requests that come back 304.
            if RATE_KEY in request:
                hub.limiter.refund(key, now_epoch)
                state = hub.limiter.peek(key, now_epoch)
            response.set_status(304)
            response.body = b""
    for name, value in state.headers().items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
    response.headers.setdefault("X-GitHub-Api-Version-Selected", "2022-11-28")


def build_application(hub: Hub) -> web.Application:
    application = web.Application(middlewares=[observe], client_max_size=64 * 1024 * 1024)
    application[HUB_KEY] = hub
    application.add_routes(api_apps.routes)
    application.add_routes(api_repos.routes)
    application.add_routes(api_collaborators.routes)
    application.add_routes(api_checks.routes)
    application.add_routes(api_protection.routes)
    application.add_routes(api_pulls.routes)
    application.add_routes(git_http.routes)
    application.add_routes(render.routes)
    return application
