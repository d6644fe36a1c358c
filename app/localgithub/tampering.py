"""What a test does that GitHub never would: answer requests with injected faults (an error,
a rate limit, a delay), and send raw webhooks (forged signatures, replays, odd bodies)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.localgithub.hub import Fault
from app.localgithub.models import GitHubApp, WebhookDelivery
from app.localgithub.steps_common import Steps
from app.localgithub.webhooks import encode


class Tampering(Steps):
    """Faults in the answers, and webhooks sent as given."""

    def inject_fault(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` requests matching `method` ("*" for any) and `path_regex`
        (searched in the path) with `status`, after `delay` seconds, without running them."""
        self._hub.faults.append(
            Fault(
                method=method,
                path_pattern=re.compile(path_regex),
                status=status,
                remaining=times,
                headers=dict(headers or {}),
                body=body,
                delay=delay,
            )
        )

    # -- raw webhooks ----------------------------------------------------------------------

    async def send_webhook(
        self,
        app: GitHubApp,
        event: str,
        payload: Mapping[str, Any],
        *,
        delivery_id: str | None = None,
        signature: str | None = None,
        raw_body: bytes | None = None,
        headers_override: Mapping[str, str | None] | None = None,
    ) -> WebhookDelivery:
        """Sign and POST one delivery as given. `signature` replaces X-Hub-Signature-256 (and
        drops the sha1 one); `raw_body` is sent instead of the encoded payload (and signed,
        unless `signature` is given); a header mapped to None in `headers_override` is left
        out."""
        body = raw_body if raw_body is not None else encode(payload)
        action = payload.get("action")
        installation = payload.get("installation")
        repository = payload.get("repository")
        future = self._hub.sender.submit(
            app.id,
            event,
            body,
            action=action if isinstance(action, str) else None,
            installation_id=installation.get("id") if isinstance(installation, dict) else None,
            repository_id=repository.get("id") if isinstance(repository, dict) else None,
            delivery_id=delivery_id,
            signature=signature,
            headers_override=headers_override,
        )
        return await future
