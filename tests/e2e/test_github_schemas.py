"""What GitHub's schemas allow and the service must take, through the real service: an
uninstall whose `installation.account` is null (the schema makes it nullable: an account GitHub
has since deleted) still stops the installation's runs. On both databases.

(`GET /app` without `slug` is tested through `python -m app protect` in tests/test_protect.py;
comments from members GitHub shows as CONTRIBUTOR in test_commands.py.)"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from tests.e2e.harness import PASSING, SLOW, Harness


async def jobs_left(harness: Harness) -> dict[str, int]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{harness.service.url}/healthz") as response,
    ):
        data = await response.json()
    jobs = data["jobs"]
    assert isinstance(jobs, dict)
    return {state: int(jobs.get(state) or 0) for state in ("queued", "running")}


async def test_an_uninstall_naming_no_account_stops_the_installations_runs(
    harness: Harness,
) -> None:
    sha = harness.commit({**PASSING, **SLOW}, "a slow test")
    await harness.push("main")
    await harness.wait_for(sha, lambda runs: any(r.status == "in_progress" for r in runs))

    # The installation event GitHub sent when the app was installed, as it would say the
    # uninstall of an account it no longer has.
    [created] = [
        d for d in harness.github.deliveries if (d.event, d.action) == ("installation", "created")
    ]
    payload = json.loads(created.body)
    payload["action"] = "deleted"
    payload["installation"]["account"] = None
    await harness.github.send_webhook(harness.app, "installation", payload)

    deadline = time.monotonic() + 30  # the slow test alone takes 60 s
    while (left := await jobs_left(harness)) != {"queued": 0, "running": 0}:
        if time.monotonic() > deadline:
            raise AssertionError(f"the run went on: {left}\n{harness.logs()[-6000:]}")
        await asyncio.sleep(0.1)
    log = harness.service.log()
    assert f"installation {harness.installation_id} was uninstalled" in log, log[-4000:]
    assert "malformed payload" not in log
    assert "Traceback" not in log
