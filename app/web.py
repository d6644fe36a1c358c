"""The HTTP service: webhooks in, details pages out; wires every piece together.

`POST /webhook` does the least it can before answering: check the signature, refuse what is
malformed, store the delivery (which also drops a replayed `X-GitHub-Delivery`, and a body seen
before under another id) and answer 202.
Everything else happens in the background, because GitHub waits at most 10 seconds and never
retries on its own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp.typedefs import Handler
from gidgethub import BadRequest, ValidationFailure, sansio

from app import pages
from app.metrics import CONTENT_TYPE
from app.pages.history import badge_svg
from app.service import Service
from app.settings import Settings
from app.state.database import DatabaseError
from app.state.deliveries import Delivery
from app.state.job_history import HistoryFilter
from app.state.jobs import Job

log = logging.getLogger(__name__)

# What `secrets.token_urlsafe` makes: anything else is not a run, without asking the database.
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
# GitHub's own rules for account and repository names.
REPOSITORY = r"/{owner:[A-Za-z0-9][A-Za-z0-9-]{0,38}}/{repo:[A-Za-z0-9._-]{1,100}}"
BADGE_CACHE = "max-age=60"  # a badge follows the branch within a minute

# GitHub caps payloads at 25 MB; anything bigger is not from GitHub.
MAX_BODY = 25 * 1024 * 1024
# aiohttp keeps reading (and ignoring) an unread body for 10 s by default before closing; an
# oversized delivery is refused before it is read, so that would hold the connection for nothing.
LINGERING_TIME = 0.5
# GitHub gives up on a delivery after 10 s: a body still arriving by then is not GitHub's, or
# is no longer awaited. Without a deadline a slow sender holds the connection for ever.
BODY_TIMEOUT = 10.0
# Bodies above this size are read only while the large ones being read take at most
# LARGE_BODIES bytes (see LargeBodies).
LARGE_BODY = 1024 * 1024
LARGE_BODIES = 4 * MAX_BODY


class LargeBodies:
    """The bytes of large webhook bodies being read at once, and their limit.

    A signature can only be checked once the whole body is in memory, and anyone can send a
    signature header: without a limit, a dozen forged 25 MB bodies took 300 MB. Bodies up to
    LARGE_BODY (nearly every delivery: a push of many commits is tens of kB) are never held
    back; larger ones share LARGE_BODIES bytes, and one that does not fit is answered 503 before
    it is read (GitHub shows the delivery as failed, to be redelivered)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if size <= LARGE_BODY:
            return True
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        if size > LARGE_BODY:
            self.used -= size


SETTINGS = web.AppKey("settings", Settings)
BODIES = web.AppKey("large bodies", LargeBodies)
# Labels come from a header anyone can send: only these are counted by name.
KNOWN_EVENTS = frozenset(
    {
        "push",
        "pull_request",
        "check_suite",
        "check_run",
        "installation",
        "installation_repositories",
        "issue_comment",
        "ping",
    }
)
TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("tasks")
SERVICE = web.AppKey("service", Service)


def create_app(
    settings: Settings, *, role: str = "serve", workers: int | None = None
) -> web.Application:
    """The HTTP service; with `workers` (default: WORKERS) it also runs tests."""
    app = web.Application(
        client_max_size=MAX_BODY,
        handler_args={"lingering_time": LINGERING_TIME},
        middlewares=[_page_not_found],
    )
    app[SETTINGS] = settings
    app[BODIES] = LargeBodies(LARGE_BODIES)
    app[TASKS] = set()
    app.cleanup_ctx.append(_lifecycle(role, settings.workers if workers is None else workers))
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/runs/{public_id}", run_page)
    app.router.add_get("/runs/{public_id}/log", run_log)
    app.router.add_get("/runs/{public_id}/lines", run_lines)
    # After every other route: an owner named like one of them is not reachable here.
    app.router.add_get("/", index)
    app.router.add_get(REPOSITORY, repository_runs)
    app.router.add_get(REPOSITORY + "/latest", latest_run)
    app.router.add_get(REPOSITORY + "/badge.svg", badge)
    return app


def create_metrics_app(service: Service) -> web.Application:
    """What a `worker` process serves on METRICS_PORT: its health and its metrics."""
    app = web.Application()
    app[SERVICE] = service
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def _lifecycle(role: str, workers: int) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        service = await Service.start(app[SETTINGS], role=role, workers=workers)
        app[SERVICE] = service
        yield
        pending: set[asyncio.Task[None]] = app[TASKS]
        for task in pending:
            task.cancel()
        await service.stop()

    return lifecycle


@web.middleware
async def _page_not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A person who follows a wrong link gets a page saying so, not a bare 404."""
    try:
        return await handler(request)
    except web.HTTPNotFound as error:
        if error.content_type == "text/html" or request.method != "GET":
            raise
        raise _not_found("There is nothing at this address.") from None


def _refuse(status: int, reason: str, *, unread: bool = False) -> web.Response:
    # A warning, so that a flood of the same refusal is logged once per interval with a count
    # (log_throttle), not once per request.
    log.warning("webhook refused (%d): %s", status, reason)
    # Refused before its body was read: close the connection rather than drain 25 MB+.
    headers = {"Connection": "close"} if unread else None
    return web.json_response({"error": reason}, status=status, headers=headers)


async def webhook(request: web.Request) -> web.Response:
    response = await _webhook(request)
    event = request.headers.get("X-GitHub-Event", "")
    label = event if event in KNOWN_EVENTS else "other"
    request.app[SERVICE].metrics.webhooks.labels(label, str(response.status)).inc()
    return response


async def _webhook(request: web.Request) -> web.Response:
    headers = request.headers
    # Before the body is read: a request that cannot be a delivery costs no memory.
    # gidgethub falls back to the SHA-1 signature; GitHub always sends SHA-256, so require it.
    if "X-Hub-Signature-256" not in headers:
        return _refuse(401, "missing X-Hub-Signature-256", unread=True)
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _refuse(413, "payload too large", unread=True)
    # GitHub always says how long; a body that does not may be as long as any.
    size = MAX_BODY if request.content_length is None else request.content_length
    bodies = request.app[BODIES]
    if not bodies.take(size):
        return _refuse(503, "too many large deliveries at once; try again", unread=True)
    try:
        return await _read_webhook(request)
    finally:
        bodies.give(size)


async def _read_webhook(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    headers = request.headers
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, "payload too large", unread=True)
    except TimeoutError:
        return _refuse(408, f"the body took more than {BODY_TIMEOUT:.0f}s to arrive", unread=True)
    try:
        # Checks the signature first, then the body, then the event headers.
        event = sansio.Event.from_http(headers, body, secret=settings.webhook_secret)
    except ValidationFailure:
        return _refuse(401, "bad signature")
    except KeyError:
        return _refuse(400, "missing X-GitHub-Event or X-GitHub-Delivery")
    except RecursionError:
        # json.loads recurses once per level: a signed body can still be nested 100,000 deep.
        return _refuse(400, "body is JSON nested too deeply to be a webhook payload")
    except (BadRequest, ValueError, UnicodeDecodeError):
        return _refuse(400, "body is not a JSON webhook payload")
    event_name, delivery_id = event.event, event.delivery_id
    if not isinstance(event.data, dict):
        return _refuse(400, "payload is not a JSON object")
    if event_name == "ping":
        return web.json_response({"zen": event.data.get("zen", "pong")})
    installation = event.data.get("installation")
    if not isinstance(installation, dict) or not isinstance(installation.get("id"), int):
        return _refuse(400, "not a GitHub App delivery: no installation")
    action = event.data.get("action")
    service = request.app[SERVICE]
    deliveries = service.state.deliveries
    db = service.state.db
    try:
        # Off the event loop: a write waiting for another process's lock stalls this delivery
        # alone, not every request of the process.
        recorded = await db.run_answering(
            deliveries.record,
            delivery_id,
            event_name,
            action if isinstance(action, str) else None,
            body,
            received_by=service.presence.id,
        )
    except service.state.db.errors as error:
        # Not stored means not acted on: say so, so that the delivery shows as failed on
        # GitHub and can be redelivered, rather than a 202 for an event that is lost.
        log.error("webhook %s not stored: %s", delivery_id, error)
        return web.json_response({"error": "cannot store the delivery now"}, status=503)
    if not recorded:
        original = await db.run_answering(deliveries.duplicate_of, delivery_id, body)
        if original is not None:
            # GitHub never sends one body under two ids (deliveries.record): someone who
            # holds a signed body is sending it again.
            log.warning(
                "webhook %s (%s): the same body as delivery %s, replayed; ignored",
                delivery_id,
                event_name,
                original,
            )
        return web.json_response({"status": "duplicate delivery ignored"}, status=200)
    task = asyncio.create_task(
        request.app[SERVICE].intake.process(Delivery(delivery_id, event_name, body))
    )
    tasks = request.app[TASKS]
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return web.json_response({"status": "accepted"}, status=202)


async def healthz(request: web.Request) -> web.Response:
    """ok only when a webhook could be stored now: the database takes a write."""
    service = request.app[SERVICE]
    db = service.state.db
    try:
        await db.run_answering(db.check_writable)
        counts = await db.run_answering(service.state.jobs.counts)
    except DatabaseError as error:
        return _unhealthy(str(error))
    except service.state.db.errors as error:  # reads fail too: corrupt, or gone
        return _unhealthy(f"{service.state.db.name}: {' '.join(str(error).split())}")
    return web.json_response({"status": "ok", "jobs": counts})


def _unhealthy(reason: str) -> web.Response:
    log.error("unhealthy: %s", reason)
    return web.json_response({"status": "failing", "reason": reason}, status=503)


async def metrics(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    # Rendering reads the queue's counts from the database.
    body = await service.state.db.run(service.metrics.render)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _job(request: web.Request) -> Job:
    public_id = request.match_info["public_id"]
    state = request.app[SERVICE].state
    job = None
    if PUBLIC_ID.fullmatch(public_id):
        job = await state.db.run(state.jobs.by_public_id, public_id)
    if job is None:
        raise _not_found("There is no run at this address.")
    return job


async def run_log(request: web.Request) -> web.StreamResponse:
    """The raw log; `?offset=N` gives only what came after byte N (the page polls it)."""
    job = await _job(request)
    try:
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        offset = -1
    if offset < 0:
        raise web.HTTPBadRequest(text="offset must be a whole number, 0 or more")
    state = request.app[SERVICE].state
    data, size = await state.db.run(state.logs.read, job.id, offset)
    headers = {"X-Log-Size": str(size), "X-Run-State": job.state, "Cache-Control": "no-store"}
    if "download" in request.query:
        name = f"{job.request.repo_full_name.replace('/', '-')}-{job.check_name}-{job.id}.log"
        headers["Content-Disposition"] = f'attachment; filename="{_safe_file_name(name)}"'
    return web.Response(body=data, content_type="text/plain", charset="utf-8", headers=headers)


async def run_lines(request: web.Request) -> web.Response:
    """The complete lines of the log after byte `offset`, as the run page's rows numbered from
    `line`; the page asks again from X-Log-Size with X-Next-Line."""
    job = await _job(request)
    try:
        offset = int(request.query.get("offset", "0"))
        line = int(request.query.get("line", "1"))
    except ValueError:
        offset = line = -1
    if offset < 0 or line < 1:
        raise web.HTTPBadRequest(text="offset and line must be whole numbers (line from 1)")
    state = request.app[SERVICE].state
    data, size = await state.db.run(state.logs.read, job.id, offset)
    complete, _, partial = data.rpartition(b"\n")
    if complete or data.endswith(b"\n"):
        complete += b"\n"
    else:
        complete = b""
    # An unfinished last line is asked for again next time, whole.
    size -= len(partial)
    return web.Response(
        text=await asyncio.to_thread(pages.log_lines, complete, line) if complete else "",
        content_type="text/html",
        headers={
            "X-Log-Size": str(size),
            "X-Next-Line": str(line + complete.count(b"\n")),
            "X-Run-State": job.state,
            "Cache-Control": "no-store",
        },
    )


def _safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


async def run_page(request: web.Request) -> web.Response:
    job = await _job(request)
    state = request.app[SERVICE].state
    data, size = await state.db.run(state.logs.read, job.id)
    # Off the event loop: a long log takes a while to lay out, and webhooks must not wait.
    related = await state.db.run(state.runs.related, job)
    nonce = secrets.token_urlsafe(18)
    page = await asyncio.to_thread(pages.run_page, job, data, size, related=related, nonce=nonce)
    return _page(page, nonce=nonce)


async def index(request: web.Request) -> web.Response:
    """What this Conveyor is, its queue, and the recent runs of public repositories."""
    service = request.app[SERVICE]
    state = service.state
    recent = await state.db.run(state.runs.recent_public)
    counts = await state.db.run(state.jobs.counts)
    facts = pages.Facts(
        installations=await state.db.run(state.installations.active_count),
        processes=tuple(p.role for p in await state.db.run(state.processes.alive)),
        last_webhook=await state.db.run(state.deliveries.last_received),
    )
    page = await asyncio.to_thread(pages.index_page, recent, counts, facts, time.time())
    return _page(page)


async def _public_repository(request: web.Request) -> str:
    """The repository the address names, if GitHub said it is public; else a 404 that says
    nothing of whether it exists (a private repository's runs are reached through the links in
    its check runs)."""
    name = f"{request.match_info['owner']}/{request.match_info['repo']}"
    state = request.app[SERVICE].state
    if not await state.db.run(state.runs.public, name):
        raise _not_found("No public repository by this name has runs here.")
    return name


def _history_filter(request: web.Request) -> HistoryFilter:
    query = request.query

    def number(key: str) -> int | None:
        value = query.get(key, "").strip().lstrip("#")
        if not value:
            return None
        if not value.isdigit() or len(value) > 18:
            raise web.HTTPBadRequest(text=f"{key} must be a whole number")
        return int(value)

    return HistoryFilter(
        branch=query.get("branch") or None,
        pull_number=number("pull"),
        check=query.get("check") or None,
        conclusion=query.get("conclusion") or None,
        before=number("before"),
    )


async def repository_runs(request: web.Request) -> web.Response:
    name = await _public_repository(request)
    chosen = _history_filter(request)
    state = request.app[SERVICE].state
    jobs = await state.db.run(state.runs.runs, name, chosen)
    trends = await state.db.run(state.runs.trend, name)
    page = await asyncio.to_thread(pages.repository_page, name, jobs, trends, chosen, time.time())
    return _page(page)


async def latest_run(request: web.Request) -> web.Response:
    """A redirect to the newest run of a branch (and check): a link that stays right."""
    name = await _public_repository(request)
    chosen = _history_filter(request)
    state = request.app[SERVICE].state
    job = await state.db.run(state.runs.latest, name, chosen.branch, chosen.check)
    if job is None:
        raise _not_found("This branch has no runs yet.")
    raise web.HTTPFound(f"/runs/{job.public_id}", headers={"Cache-Control": "no-store"})


async def badge(request: web.Request) -> web.Response:
    name = await _public_repository(request)
    chosen = _history_filter(request)
    state = request.app[SERVICE].state
    status = await state.db.run(state.runs.badge, name, chosen.branch, chosen.check)
    return web.Response(
        text=badge_svg(chosen.check or "conveyor", status),
        content_type="image/svg+xml",
        headers={"Cache-Control": BADGE_CACHE, "Content-Security-Policy": _policy(None)},
    )


def _policy(nonce: str | None) -> str:
    """What a page may load and run: its own styles, its one script (by `nonce`), requests back
    here; nothing from elsewhere. Everything shown is escaped already; this is the second wall,
    should a bug let a test name's `<script>` through."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return (
        f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _page_headers(nonce: str | None = None) -> dict[str, str]:
    # No referrer: a run page's address is its only key.
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": _policy(nonce),
    }


def _page(text: str, *, nonce: str | None = None) -> web.Response:
    return web.Response(text=text, content_type="text/html", headers=_page_headers(nonce))


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(
        text=pages.not_found(message), content_type="text/html", headers=_page_headers()
    )
