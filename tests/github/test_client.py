"""app/github/client.py: when to retry, and GitHubClient against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import aiohttp
import jwt
import pytest
from aiohttp import web
from gidgethub import BadRequest, GitHubBroken, RateLimitExceeded
from gidgethub.sansio import RateLimit

from app.github.client import GitHubClient, RetryPolicy, backoff, retry_delay
from tests.keys import key_pair

PRIVATE_PEM, PUBLIC_PEM = key_pair()
APP_ID = "4242"
NOW = 1_700_000_000.0
POLICY = RetryPolicy()


# -- retry_delay -------------------------------------------------------------------------------


def bad_request(status: int, message: str = "", **headers: str) -> BadRequest:
    return BadRequest(HTTPStatus(status), message or HTTPStatus(status).phrase, headers=headers)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_retried_with_jittered_exponential_backoff(status: int) -> None:
    error = GitHubBroken(HTTPStatus(status))
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
        for _ in range(20):
            wait = retry_delay(error, attempt, POLICY, now=NOW)
            assert wait is not None
            assert ceiling / 2 <= wait <= ceiling


def test_backoff_is_capped_at_max_delay() -> None:
    policy = RetryPolicy(attempts=50, base_delay=1.0, max_delay=8.0)
    for _ in range(20):
        assert 4.0 <= backoff(30, policy) <= 8.0


@pytest.mark.parametrize("status", [403, 429])
def test_retry_after_is_obeyed(status: int) -> None:
    error = bad_request(status, "You have exceeded a secondary rate limit.", **{"retry-after": "7"})
    assert retry_delay(error, 1, POLICY, now=NOW) == 7.0
    assert retry_delay(error, 4, POLICY, now=NOW) == 7.0


def test_retry_after_that_is_not_a_number_waits_the_secondary_limit_minute() -> None:
    error = bad_request(429, **{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_delay(error, 1, POLICY, now=NOW) == 60.0


def test_retry_after_longer_than_max_delay_gives_up() -> None:
    error = bad_request(403, **{"retry-after": "61"})
    assert retry_delay(error, 1, POLICY, now=NOW) is None


def test_primary_limit_waits_until_the_reset() -> None:
    # What gidgethub raises for a 403 with x-ratelimit-remaining: 0.
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 30),
    }
    limit = RateLimit(limit=5000, remaining=0, reset_epoch=NOW + 30)
    error = RateLimitExceeded(limit, "API rate limit exceeded", headers=headers)
    assert retry_delay(error, 1, POLICY, now=NOW) == 31.0
    # The same for a 429 with the same headers (gidgethub raises a plain BadRequest).
    assert retry_delay(bad_request(429, **headers), 1, POLICY, now=NOW) == 31.0


def test_a_reset_already_past_retries_at_once() -> None:
    error = bad_request(
        403, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 100)}
    )
    assert retry_delay(error, 1, POLICY, now=NOW) == 0.0


def test_a_reset_further_than_max_delay_gives_up() -> None:
    error = bad_request(
        403, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 1800)}
    )
    assert retry_delay(error, 1, POLICY, now=NOW) is None


def test_a_secondary_limit_without_headers_waits_a_minute_then_gives_up() -> None:
    error = bad_request(403, "You have exceeded a secondary rate limit. Please wait.")
    assert retry_delay(error, 1, POLICY, now=NOW) == 60.0
    assert retry_delay(error, 2, POLICY, now=NOW) is None  # 120 s is over max_delay
    patient = RetryPolicy(max_delay=300.0)
    assert retry_delay(error, 2, patient, now=NOW) == 120.0
    assert retry_delay(bad_request(429), 1, POLICY, now=NOW) == 60.0


def test_a_plain_403_gives_up() -> None:
    error = bad_request(403, "Resource not accessible by integration")
    assert retry_delay(error, 1, POLICY, now=NOW) is None
    # x-ratelimit-remaining that is not 0 is not a rate limit either
    error = bad_request(403, "Forbidden", **{"x-ratelimit-remaining": "4999"})
    assert retry_delay(error, 1, POLICY, now=NOW) is None


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_other_client_errors_give_up(status: int) -> None:
    assert retry_delay(bad_request(status, **{"retry-after": "1"}), 1, POLICY, now=NOW) is None


def test_nothing_is_retried_once_the_attempts_are_used_up() -> None:
    policy = RetryPolicy(attempts=3)
    broken = GitHubBroken(HTTPStatus(502))
    limited = bad_request(429, **{"retry-after": "1"})
    assert retry_delay(broken, 2, policy, now=NOW) is not None
    assert retry_delay(limited, 2, policy, now=NOW) == 1.0
    assert retry_delay(broken, 3, policy, now=NOW) is None
    assert retry_delay(limited, 3, policy, now=NOW) is None
    assert retry_delay(broken, 9, policy, now=NOW) is None


# -- GitHubClient against a real server --------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeGitHub:
    """A tiny GitHub: issues installation tokens, answers repository calls from a script."""

    url: str = ""
    tokens_issued: list[str] = field(default_factory=list)
    token_requests: list[tuple[str, str]] = field(default_factory=list)  # (path, authorization)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, auth)
    # Status codes to answer repository calls with, in order; then 200.
    script: list[int] = field(default_factory=list)
    refuse_tokens: set[str] = field(default_factory=set)  # tokens answered with 401
    extra_headers: dict[int, dict[str, str]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if request.method == "POST" and request.path.endswith("/access_tokens"):
            self.token_requests.append((request.path, auth))
            token = f"ghs_token{len(self.tokens_issued) + 1}"
            self.tokens_issued.append(token)
            return web.json_response(
                {"token": token, "expires_at": "2999-01-01T00:00:00Z"}, status=201
            )
        self.calls.append((request.method, request.path, auth))
        if auth.removeprefix("token ") in self.refuse_tokens:
            return web.json_response({"message": "Bad credentials"}, status=401)
        if self.script:
            status = self.script.pop(0)
            return web.json_response(
                {"message": f"scripted {status}"},
                status=status,
                headers=self.extra_headers.get(status, {}),
            )
        return web.json_response({"path": request.path, "n": len(self.calls)})


@pytest.fixture
async def fake_github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


class Sleeps:
    """A no-op sleep that records how long the client wanted to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(
    session: aiohttp.ClientSession, url: str, sleeps: Sleeps, policy: RetryPolicy | None = None
) -> GitHubClient:
    return GitHubClient(
        session, api_url=url, app_id=APP_ID, private_key=PRIVATE_PEM, policy=policy, sleep=sleeps
    )


async def test_a_token_is_fetched_once_and_reused_for_many_calls(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(session, fake_github.url, Sleeps())
    for n in range(1, 6):
        data = await gh.request("GET", "/repos/{owner}/{repo}", 77, {"owner": "o", "repo": f"r{n}"})
        assert data == {"path": f"/repos/o/r{n}", "n": n}
    assert fake_github.tokens_issued == ["ghs_token1"]
    assert [auth for _, _, auth in fake_github.calls] == ["token ghs_token1"] * 5
    assert await gh.token(77) == "ghs_token1"
    assert len(fake_github.token_requests) == 1


async def test_the_token_is_asked_for_with_a_valid_app_jwt(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(session, fake_github.url, Sleeps())
    await gh.request("GET", "/repos/o/r", 12345)
    [(path, auth)] = fake_github.token_requests
    assert path == "/app/installations/12345/access_tokens"
    scheme, _, token = auth.partition(" ")
    assert scheme.lower() == "bearer"
    claims = jwt.decode(token, PUBLIC_PEM, algorithms=["RS256"], issuer=APP_ID)
    assert claims["exp"] - claims["iat"] == 600


async def test_each_installation_gets_its_own_token(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(session, fake_github.url, Sleeps())
    await gh.request("GET", "/repos/a/one", 1)
    await gh.request("GET", "/repos/b/two", 2)
    await gh.request("GET", "/repos/a/one", 1)
    assert [p for p, _ in fake_github.token_requests] == [
        "/app/installations/1/access_tokens",
        "/app/installations/2/access_tokens",
    ]
    assert [auth for _, _, auth in fake_github.calls] == [
        "token ghs_token1",
        "token ghs_token2",
        "token ghs_token1",
    ]


async def test_a_401_renews_the_token_and_retries_once(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(session, fake_github.url, Sleeps())
    await gh.request("GET", "/repos/o/r", 5)
    fake_github.refuse_tokens.add("ghs_token1")  # revoked on GitHub's side
    data = await gh.request("PATCH", "/repos/o/r/check-runs/9", 5, data={"status": "in_progress"})
    assert data["path"] == "/repos/o/r/check-runs/9"
    assert fake_github.tokens_issued == ["ghs_token1", "ghs_token2"]
    assert fake_github.calls[1:] == [
        ("PATCH", "/repos/o/r/check-runs/9", "token ghs_token1"),
        ("PATCH", "/repos/o/r/check-runs/9", "token ghs_token2"),
    ]
    await gh.request("GET", "/repos/o/r", 5)  # the new token is the cached one now
    assert fake_github.calls[-1] == ("GET", "/repos/o/r", "token ghs_token2")
    assert len(fake_github.tokens_issued) == 2


async def test_a_second_401_is_raised_not_retried_forever(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(session, fake_github.url, Sleeps())
    fake_github.refuse_tokens.update({"ghs_token1", "ghs_token2", "ghs_token3"})
    with pytest.raises(BadRequest) as caught:
        await gh.request("GET", "/repos/o/r", 5)
    assert int(caught.value.status_code) == 401
    assert len(fake_github.calls) == 2
    assert fake_github.tokens_issued == ["ghs_token1", "ghs_token2"]


async def test_a_403_is_not_a_reason_to_renew_the_token(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    sleeps = Sleeps()
    gh = client(session, fake_github.url, sleeps)
    fake_github.script = [403]
    with pytest.raises(BadRequest) as caught:
        await gh.request("GET", "/repos/o/r", 5)
    assert int(caught.value.status_code) == 403
    assert fake_github.tokens_issued == ["ghs_token1"]
    assert len(fake_github.calls) == 1
    assert sleeps.waits == []


async def test_a_500_then_200_is_retried(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    sleeps = Sleeps()
    gh = client(session, fake_github.url, sleeps)
    fake_github.script = [500, 502]
    data = await gh.request("POST", "/repos/o/r/check-runs", 5, data={"name": "tests"})
    assert data == {"path": "/repos/o/r/check-runs", "n": 3}
    assert [m for m, _, _ in fake_github.calls] == ["POST"] * 3
    assert len(sleeps.waits) == 2
    assert 0.25 <= sleeps.waits[0] <= 0.5
    assert 0.5 <= sleeps.waits[1] <= 1.0


async def test_5xx_until_the_attempts_run_out_raises(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    sleeps = Sleeps()
    gh = client(session, fake_github.url, sleeps, RetryPolicy(attempts=3))
    fake_github.script = [503] * 10
    with pytest.raises(GitHubBroken):
        await gh.request("GET", "/repos/o/r", 5)
    assert len(fake_github.calls) == 3
    assert len(sleeps.waits) == 2


async def test_a_429_with_retry_after_waits_that_long(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    sleeps = Sleeps()
    gh = client(session, fake_github.url, sleeps)
    fake_github.script = [429]
    fake_github.extra_headers[429] = {"Retry-After": "3"}
    data = await gh.request("GET", "/repos/o/r", 5)
    assert data["n"] == 2
    assert sleeps.waits == [3.0]


async def test_connection_refused_is_retried_then_raised(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` any more.
    sleeps = Sleeps()
    gh = client(session, f"http://127.0.0.1:{port}", sleeps, RetryPolicy(attempts=4))
    with pytest.raises(aiohttp.ClientConnectionError):
        await gh.request("GET", "/repos/o/r", 5)
    assert len(sleeps.waits) == 3
    for wait, ceiling in zip(sleeps.waits, (0.5, 1.0, 2.0), strict=True):
        assert ceiling / 2 <= wait <= ceiling
    # The failed token fetch is not cached: the next call asks again (and fails again).
    with pytest.raises(aiohttp.ClientConnectionError):
        await gh.request("GET", "/repos/o/r", 5)
    assert gh.tokens.fetches == 2


async def test_an_unsupported_method_is_refused(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(session, fake_github.url, Sleeps())
    with pytest.raises(ValueError, match="unsupported method DELETE"):
        await gh.request("DELETE", "/repos/o/r", 5)
    assert fake_github.calls == []
