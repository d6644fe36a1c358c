"""What a test does that GitHub never would (app/localgithub/tampering.py): injected faults
(errors, rate limits, delays, on the API and on git), and raw webhooks (forged, replayed,
odd bodies, stripped headers)."""

from __future__ import annotations

import time

import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World
from tests.localgithub.helpers import WebhookReceiver, git

RUNS = "/repos/octo-org/hello/check-runs"


async def test_server_error_then_success(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    gh.inject_fault("POST", r"/check-runs$", 502)
    with pytest.raises(gidgethub.GitHubBroken):
        await api.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    assert gh.check_runs() == []
    run = await api.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    assert run["name"] == "tests"
    faulted = [c for c in gh.calls if c.fault_injected]
    assert [(c.method, c.status) for c in faulted] == [("POST", 502)]
    assert faulted[0].request_json == {"name": "tests", "head_sha": world.sha}


async def test_secondary_rate_limit_with_retry_after(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    gh.inject_fault("PATCH", r"/check-runs/\d+$", 403, headers={"Retry-After": "7"}, times=2)
    run = await api.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    for _ in range(2):
        with pytest.raises(gidgethub.BadRequest) as caught:
            await api.patch(
                f"{RUNS}/{run['id']}", data={"status": "in_progress"}, oauth_token=token
            )
        assert caught.value.status_code == 403
        assert not isinstance(caught.value, gidgethub.RateLimitExceeded)
        assert caught.value.headers["Retry-After"] == "7"
        assert "secondary rate limit" in str(caught.value)
    updated = await api.patch(
        f"{RUNS}/{run['id']}", data={"status": "in_progress"}, oauth_token=token
    )
    assert updated["status"] == "in_progress"


async def test_primary_rate_limit_fault(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    reset = str(int(time.time()) + 60)
    gh.inject_fault(
        "*",
        r"^/repos/octo-org/hello$",
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
        body={"message": "API rate limit exceeded for installation ID 1."},
    )
    with pytest.raises(gidgethub.RateLimitExceeded) as caught:
        await api.getitem("/repos/octo-org/hello", oauth_token=token)
    assert caught.value.rate_limit.remaining == 0


async def test_delayed_fault(api: GitHubAPI, gh: LocalGitHub, world: World, token: str) -> None:
    gh.inject_fault("GET", r"/repos/octo-org/hello$", 500, delay=0.2)
    started = time.monotonic()
    with pytest.raises(gidgethub.GitHubBroken):
        await api.getitem("/repos/octo-org/hello", oauth_token=token)
    assert time.monotonic() - started >= 0.2
    assert gh.calls[-1].elapsed >= 0.2


async def test_fault_on_git(world: World, gh: LocalGitHub, token: str) -> None:
    gh.inject_fault("GET", r"/info/refs$", 500)
    url = world.repo.clone_url.replace("http://", f"http://x-access-token:{token}@")
    outcome = await git("ls-remote", url, check=False)
    assert outcome.returncode != 0
    assert (await git("ls-remote", url)).stdout.startswith(world.sha)


async def test_send_webhook_for_forgeries_and_replays(
    world: World, gh: LocalGitHub, receiver: WebhookReceiver
) -> None:
    real = next(d for d in gh.deliveries if d.event == "push")
    forged = await gh.send_webhook(
        world.app, "push", real.payload(), signature="sha256=" + "0" * 64
    )
    assert forged.status == 401
    assert "X-Hub-Signature" not in forged.request_headers
    replayed = await gh.send_webhook(
        world.app, "push", real.payload(), delivery_id=real.delivery_id
    )
    assert replayed.status == 202
    assert receiver.received[-1].delivery_id == real.delivery_id
    assert receiver.received[-1].body == real.body
    raw = await gh.send_webhook(world.app, "push", {}, raw_body=b'{"ref": ')
    assert receiver.received[-1].body == b'{"ref": '
    assert raw.status == 202  # signed correctly; the receiver here does not parse further
    stripped = await gh.send_webhook(
        world.app, "push", real.payload(), headers_override={"X-Hub-Signature-256": None}
    )
    assert stripped.status == 401
    assert "X-Hub-Signature-256" not in stripped.request_headers
