"""POST /webhook: what is accepted, what is refused and with which status, in-process."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from gidgethub import sansio

from app import web as web_module
from app.localgithub import LocalGitHub
from app.settings import Settings
from app.web import create_app

PAYLOADS = Path(__file__).resolve().parents[1] / "app" / "localgithub" / "payloads"
SECRET = "It's a Secret to Everybody"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Service:
    url: str
    session: aiohttp.ClientSession

    async def post(
        self,
        body: bytes,
        *,
        event: str | None = "push",
        delivery: str | None = "d-1",
        signature: str | None = "auto",
        content_type: str = "application/json",
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": content_type}
        if event is not None:
            headers["X-GitHub-Event"] = event
        if delivery is not None:
            headers["X-GitHub-Delivery"] = delivery
        if signature == "auto":
            headers["X-Hub-Signature-256"] = sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with self.session.post(f"{self.url}/webhook", data=body, headers=headers) as r:
            return r.status, await r.json()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    github = LocalGitHub(tmp_path / "github")
    api_url = await github.start()
    app = github.register_app(name="conveyor", webhook_url=None, webhook_secret=SECRET)
    settings = Settings(
        app_id=str(app.id),
        private_key=app.private_key_pem,
        webhook_secret=SECRET,
        api_url=api_url,
        port=0,
        data_dir=tmp_path / "data",
        public_url="http://127.0.0.1:1",
        workers=1,
    )
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as session:
        yield Service(f"http://127.0.0.1:{port}", session)
    await runner.cleanup()
    await github.stop()


def test_githubs_own_signature_example_verifies() -> None:
    # The test vector of GitHub's "Validating webhook deliveries" page.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(b"Hello, World!") == expected
    sansio.validate_event(b"Hello, World!", signature=expected, secret=SECRET)


async def test_a_signed_delivery_is_accepted_and_a_replay_is_dropped(service: Service) -> None:
    body = json.dumps(load("push.with-new-branch.json")).encode()
    assert await service.post(body, delivery="abc") == (202, {"status": "accepted"})
    assert await service.post(body, delivery="abc") == (
        200,
        {"status": "duplicate delivery ignored"},
    )
    other = json.dumps(load("push.with-installation.json")).encode()
    assert (await service.post(other, delivery="abd"))[0] == 202


async def test_a_signed_body_replayed_under_a_new_delivery_id_is_dropped(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    # The delivery id is a header anyone can change; the signature covers only the body.
    body = json.dumps(load("check_run.rerequested.json")).encode()
    assert (await service.post(body, event="check_run", delivery="first"))[0] == 202
    with caplog.at_level(logging.WARNING, logger="app.web"):
        assert await service.post(body, event="check_run", delivery="second") == (
            200,
            {"status": "duplicate delivery ignored"},
        )
        # Under another event name, it is the same body all the same.
        assert (await service.post(body, event="check_suite", delivery="third"))[0] == 200
    replays = [r.getMessage() for r in caplog.records if "replayed" in r.getMessage()]
    assert replays == [
        "webhook second (check_run): the same body as delivery first, replayed; ignored",
        "webhook third (check_suite): the same body as delivery first, replayed; ignored",
    ]
    # One byte more is another body (and, from GitHub, another signature).
    assert (await service.post(body + b" ", event="check_run", delivery="fourth"))[0] == 202


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        (None, "missing X-Hub-Signature-256"),
        ("sha256=" + "0" * 64, "bad signature"),
        ("sha1=" + "0" * 40, "bad signature"),
        ("", "bad signature"),
        ("not-a-signature", "bad signature"),
    ],
)
async def test_a_bad_or_missing_signature_is_401(
    service: Service, signature: str | None, why: str
) -> None:
    body = json.dumps(load("push.with-new-branch.json")).encode()
    assert await service.post(body, signature=signature) == (401, {"error": why})


async def test_signed_with_another_secret_is_401(service: Service) -> None:
    body = json.dumps(load("push.with-new-branch.json")).encode()
    status, _ = await service.post(body, signature=sign(body, "another secret"))
    assert status == 401


@pytest.mark.parametrize(
    ("body", "kwargs", "why"),
    [
        (b'{"ref": "refs/heads/main",', {}, "body is not a JSON webhook payload"),
        (b"\xff\xfe", {}, "body is not a JSON webhook payload"),
        (b"[1, 2]", {}, "payload is not a JSON object"),
        (b"{}", {"content_type": "text/plain"}, "body is not a JSON webhook payload"),
        (b"{}", {"event": None}, "missing X-GitHub-Event or X-GitHub-Delivery"),
        (b"{}", {"delivery": None}, "missing X-GitHub-Event or X-GitHub-Delivery"),
        (b'{"ref": "refs/heads/main"}', {}, "not a GitHub App delivery: no installation"),
        (b'{"installation": {"id": "1"}}', {}, "not a GitHub App delivery: no installation"),
    ],
)
async def test_malformed_deliveries_are_400(
    service: Service, body: bytes, kwargs: dict[str, Any], why: str
) -> None:
    assert await service.post(body, **kwargs) == (400, {"error": why})


async def test_ping_has_no_installation_and_is_answered(service: Service) -> None:
    body = json.dumps(load("ping.json")).encode()
    status, answer = await service.post(body, event="ping")
    assert status == 200
    assert answer == {"zen": load("ping.json")["zen"]}


async def test_an_oversized_body_is_413(service: Service) -> None:
    body = b'{"a": "' + b"x" * (25 * 1024 * 1024) + b'"}'
    async with service.session.post(
        f"{service.url}/webhook",
        # A file-like body is sent in chunks; raw bytes this large would hold the event loop.
        data=io.BytesIO(body),
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)},
    ) as response:
        assert response.status == 413


async def test_healthz_counts_jobs(service: Service) -> None:
    async with service.session.get(f"{service.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "jobs": {}}


async def test_an_unknown_run_page_is_404(service: Service) -> None:
    async with service.session.get(f"{service.url}/runs/nope") as response:
        assert response.status == 404


async def test_metrics_count_webhooks_by_event_and_answer(service: Service) -> None:
    body = json.dumps(load("push.with-new-branch.json")).encode()
    await service.post(body, delivery="m-1")
    await service.post(body, delivery="m-1")  # a replay
    await service.post(body, delivery="m-3")  # the same body under another id: a replay too
    await service.post(body, signature=None)
    other = json.dumps(load("push.with-installation.json")).encode()
    await service.post(other, event="made_up_event", delivery="m-2")
    async with service.session.get(f"{service.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    lines = set(text.splitlines())
    assert 'conveyor_webhooks_total{event="push",status="202"} 1.0' in lines
    assert 'conveyor_webhooks_total{event="push",status="200"} 2.0' in lines
    assert 'conveyor_webhooks_total{event="push",status="401"} 1.0' in lines
    # Event names come from a header: unknown ones are counted together, not by name.
    assert 'conveyor_webhooks_total{event="other",status="202"} 1.0' in lines
    # The push is being acted on in the background: its job may or may not be queued yet.
    assert any(line.startswith('conveyor_jobs{state="queued"} ') for line in lines)
    assert "conveyor_job_duration_seconds_count 0.0" in lines
    assert "conveyor_installations_refused_total 0.0" in lines  # read from the database
    # One job slot (WORKERS=1), busy or idle as the push goes.
    slots = dict(line.rsplit(" ", 1) for line in lines if line.startswith("conveyor_job_slots{"))
    assert set(slots) == {'conveyor_job_slots{state="busy"}', 'conveyor_job_slots{state="idle"}'}
    assert sum(float(n) for n in slots.values()) == 1.0


async def test_a_delivery_the_database_cannot_store_is_503_not_accepted(
    service: Service, tmp_path: Path
) -> None:
    body = json.dumps(load("push.with-new-branch.json")).encode()
    # Another connection holds the write lock past the service's busy timeout (5 s).
    blocker = sqlite3.connect(tmp_path / "data" / "conveyor.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        status, answer = await service.post(body, delivery="while-locked")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert (status, answer) == (503, {"error": "cannot store the delivery now"})
    # Not stored, so GitHub's redelivery is accepted once the database is back.
    assert (await service.post(body, delivery="while-locked"))[0] == 202


async def raw_post(service: Service, head: str, body: bytes = b"") -> bytes:
    """A POST /webhook written by hand: `head` holds its headers; the answer's status line."""
    host, port = service.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"POST /webhook HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode() + body)
    try:
        return await asyncio.wait_for(reader.readline(), 30)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_without_a_signature_the_body_is_not_even_waited_for(service: Service) -> None:
    # 25 MB announced, not a byte sent: the answer comes from the headers alone.
    head = "X-GitHub-Event: push\r\nX-GitHub-Delivery: d\r\nContent-Length: 26214400\r\n"
    assert await raw_post(service, head) == b"HTTP/1.1 401 Unauthorized\r\n"


async def test_a_body_that_does_not_arrive_in_time_is_408(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_module, "BODY_TIMEOUT", 0.2)
    head = (
        f"X-GitHub-Event: push\r\nX-GitHub-Delivery: d\r\nX-Hub-Signature-256: {sign(b'{}')}\r\n"
        "Content-Length: 1000\r\n"
    )
    assert await raw_post(service, head, b'{"a": ') == b"HTTP/1.1 408 Request Timeout\r\n"


async def test_json_nested_too_deeply_is_400(service: Service) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    assert await service.post(body) == (
        400,
        {"error": "body is JSON nested too deeply to be a webhook payload"},
    )


async def test_large_bodies_beyond_the_budget_are_503_before_being_read(service: Service) -> None:
    # Four forged 25 MB bodies being sent fill the budget for large bodies (the server's
    # "100 Continue" says that the handler is reading the body)...
    large = (
        "X-GitHub-Event: push\r\nX-GitHub-Delivery: d\r\nX-Hub-Signature-256: sha256=00\r\n"
        "Content-Length: 26214400\r\n"
    )
    host, port = service.url.removeprefix("http://").split(":")
    held = [await asyncio.open_connection(host, int(port)) for _ in range(4)]
    for reader, writer in held:
        request = f"POST /webhook HTTP/1.1\r\nHost: {host}\r\n{large}Expect: 100-continue\r\n\r\n"
        writer.write(request.encode())
        assert await asyncio.wait_for(reader.readline(), 10) == b"HTTP/1.1 100 Continue\r\n"
        writer.write(b'{"a": "')
    # ... so a fifth is refused before it is read,
    assert await raw_post(service, large) == b"HTTP/1.1 503 Service Unavailable\r\n"
    # while deliveries of the usual size are not held back.
    body = json.dumps(load("push.with-new-branch.json")).encode()
    assert (await service.post(body, delivery="small"))[0] == 202
    for _, writer in held:
        writer.close()
        await writer.wait_closed()
