"""One client for GitHub's REST API, as the app and as its installations.

All GitHub HTTP goes through gidgethub's `GitHubAPI` (the base URL makes GitHub Enterprise Server
and the local GitHub work). This module adds what gidgethub leaves to its users: installation
tokens (cached, renewed after a 401) and retries with backoff for GitHub's bad moments (5xx,
connection errors, secondary rate limits with `Retry-After`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from gidgethub import BadRequest, GitHubBroken, HTTPException
from gidgethub.aiohttp import GitHubAPI

from app.github.auth import AppJWT, InstallationToken, InstallationTokens

log = logging.getLogger(__name__)

USER_AGENT = "conveyor-ci"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    # GitHub's advice for a secondary rate limit without Retry-After: wait at least a minute.
    secondary_limit_wait: float = 60.0


def retry_delay(
    exception: HTTPException, attempt: int, policy: RetryPolicy, *, now: float | None = None
) -> float | None:
    """How long to wait before trying again, or None to give up on this answer."""
    if attempt >= policy.attempts:
        return None
    status = int(exception.status_code)
    headers = exception.headers or {}
    if isinstance(exception, GitHubBroken):
        return backoff(attempt, policy)
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            wait = float(retry_after)
        except ValueError:
            wait = policy.secondary_limit_wait
    elif headers.get("x-ratelimit-remaining") == "0":
        reset = float(headers.get("x-ratelimit-reset", "0") or 0)
        wait = reset - (time.time() if now is None else now) + 1
    elif status == 429 or "secondary rate limit" in str(exception.args).lower():
        wait = policy.secondary_limit_wait * 2 ** (attempt - 1)
    else:
        return None  # a plain 403: missing permission, retrying will not help
    if wait > policy.max_delay:
        return None
    return max(wait, 0.0)


def backoff(attempt: int, policy: RetryPolicy) -> float:
    """Exponential backoff with full jitter, so that many clients do not retry in step."""
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


class _RetryingAPI(GitHubAPI):
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        super().__init__(session, USER_AGENT, base_url=base_url)
        self._policy = policy
        self._sleep = sleep

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await super()._request(method, url, headers, body)
            except (aiohttp.ClientError, TimeoutError) as error:
                if attempt >= self._policy.attempts:
                    raise
                wait = backoff(attempt, self._policy)
                # A timeout's text is empty: the type says what happened.
                why = f"{type(error).__name__}: {error}".rstrip(": ")
                log.warning("GitHub %s %s failed (%s); retrying in %.1fs", method, url, why, wait)
                await self._sleep(wait)

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: HTTPException, attempt: int
    ) -> bool:
        wait = retry_delay(exception, attempt, self._policy)
        if wait is None:
            return False
        log.warning(
            "GitHub answered %s to %s %s; retrying in %.1fs",
            int(exception.status_code),
            method,
            url,
            wait,
        )
        await self._sleep(wait)
        return True


class GitHubClient:
    """The app's view of GitHub: app-level calls with the JWT, repository calls with tokens."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_url: str,
        app_id: str,
        private_key: str,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app_id = app_id
        self.api = _RetryingAPI(
            session, base_url=api_url, policy=policy or RetryPolicy(), sleep=sleep
        )
        self.app_jwt = AppJWT(app_id, private_key)
        self.tokens = InstallationTokens(self._fetch_token)

    async def _fetch_token(self, installation_id: int) -> InstallationToken:
        data = await self.api.post(
            "/app/installations/{installation_id}/access_tokens",
            {"installation_id": installation_id},
            data=b"",
            jwt=self.app_jwt(),
        )
        return InstallationToken.from_response(data)

    async def token(self, installation_id: int) -> str:
        return await self.tokens.get(installation_id)

    async def request(
        self,
        method: str,
        url: str,
        installation_id: int,
        url_vars: Mapping[str, Any] | None = None,
        data: Any = b"",
    ) -> Any:
        """Call the API with the installation's token; a 401 renews the token once."""
        token = await self.tokens.get(installation_id)
        try:
            return await self._send(method, url, url_vars, data, token)
        except BadRequest as error:
            if int(error.status_code) != 401:
                raise
            log.info("installation %s: token refused, fetching a new one", installation_id)
            self.tokens.invalidate(installation_id, token)
            token = await self.tokens.get(installation_id)
            return await self._send(method, url, url_vars, data, token)

    async def _send(
        self,
        method: str,
        url: str,
        url_vars: Mapping[str, Any] | None,
        data: Any,
        token: str,
    ) -> Any:
        variables = dict(url_vars or {})
        if method == "GET":
            return await self.api.getitem(url, variables, oauth_token=token)
        if method == "POST":
            return await self.api.post(url, variables, data=data, oauth_token=token)
        if method == "PATCH":
            return await self.api.patch(url, variables, data=data, oauth_token=token)
        if method == "PUT":
            return await self.api.put(url, variables, data=data, oauth_token=token)
        raise ValueError(f"unsupported method {method}")
