"""`LocalGitHub`: the emulator as tests and the demo drive it, and its lifecycle (starting and
stopping the server and the webhook sender).

The HTTP side (server.py and the api_* modules) answers the service; this side plays the
people and GitHub itself: registering the app, installing it, creating repositories, pushing,
opening pull requests, clicking the re-run and action buttons. Each such step sends the
webhooks GitHub would send and waits until they have been delivered (or have failed), so a
test can look at the outcome right after the call returns. The steps live in one module per
area (steps_*.py), with what a test inspects (inspection.py) and breaks (tampering.py).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from app.localgithub.hub import Hub
from app.localgithub.inspection import Inspection
from app.localgithub.server import build_application
from app.localgithub.state import World
from app.localgithub.steps_apps import AppSteps
from app.localgithub.steps_checks import CheckButtons
from app.localgithub.steps_issues import IssueSteps
from app.localgithub.steps_protection import ProtectionSteps
from app.localgithub.steps_pulls import PullSteps
from app.localgithub.steps_repos import RepoSteps
from app.localgithub.tampering import Tampering


class LocalGitHub(
    AppSteps,
    RepoSteps,
    PullSteps,
    IssueSteps,
    ProtectionSteps,
    CheckButtons,
    Inspection,
    Tampering,
):
    """The local GitHub: each area's steps (see the base classes), started and stopped here."""

    def __init__(
        self,
        data_dir: Path,
        *,
        token_ttl: float = 3600.0,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = 5000,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.url: str | None = None
        self._world = World(self.data_dir)
        self._hub = Hub(
            self._world,
            token_ttl=token_ttl,
            rate_limit=rate_limit,
            webhook_timeout=webhook_timeout,
        )
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        if self._runner is not None:
            raise RuntimeError("already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Requests still open at stop() get a moment to finish, not the default minute.
        runner = web.AppRunner(build_application(self._hub), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self.url = f"http://{self.host}:{address[1]}"
        self._world.base_url = self.url
        await self._hub.sender.start()
        return self.url

    async def stop(self) -> None:
        await self._hub.sender.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalGitHub:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_idle(self) -> None:
        """Wait until every webhook queued so far has been delivered (or has failed)."""
        await self._hub.sender.wait_idle()
