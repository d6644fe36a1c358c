"""ALLOWED_OWNERS: the accounts whose installations may run code here; the app leaves others.

Checked by intake before anything else happens to a delivery: every delivery passes that way
(answered by any web process, or taken over after a crash), and nothing has been fetched or run
yet: no token, no check run, no git. The web handler still stores and answers it (202), so that
GitHub does not offer it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from gidgethub import GitHubException, sansio

from app.github import installations
from app.github.client import GitHubClient
from app.github.events import installation_id
from app.state.installations import Installations

log = logging.getLogger(__name__)

REFUSED = (
    "This account is not one of the accounts this Conveyor serves (ALLOWED_OWNERS), so "
    "Conveyor stopped this run and uninstalled itself from the account."
)
# A failed uninstall is tried again on a later event of the installation, not sooner.
REFUSAL_RETRY = 600.0
_GITHUB_FAILURES = (GitHubException, OSError, TimeoutError, ValueError)


def _uninstalled(event: sansio.Event) -> bool:
    return event.event == "installation" and event.data.get("action") == "deleted"


class OwnerGate:
    """`stop_jobs(installation_id, why)`: cancels an installation's queued and running jobs."""

    def __init__(
        self,
        allowed_owners: frozenset[str] | None,
        installations: Installations,
        gh: GitHubClient,
        stop_jobs: Callable[[int, str], Awaitable[int]],
    ) -> None:
        # Lowercase logins (ALLOWED_OWNERS); None: every account's installations are served.
        self.allowed_owners = allowed_owners
        self.installations = installations
        self.db = installations.db  # its calls are made off the event loop (`run`)
        self.gh = gh
        self._stop_jobs = stop_jobs
        self._lookups = asyncio.Lock()

    async def refusal(self, event: sansio.Event) -> str | None:
        """Why a delivery is not acted on because of whose it is; None: act on it.

        Checked here, before anything else happens to a delivery: every delivery passes this
        way (answered by any web process, or taken over after a crash), and nothing has been
        fetched or run yet: no token, no check run, no git. The web handler still stores and
        answers it (202), so that GitHub does not offer it again.

        What decides is the installation's account, which is what the installation's tokens
        reach: named by the payload of installation events, else remembered from them (or
        from an earlier lookup), else asked of GitHub with the app's JWT. Nothing of a signed
        payload is the sender's to choose, and an installation only ever delivers events of
        its own account's repositories, so the repository owner the payload names must be
        allowed too (it always agrees). Logins change (an account can be renamed) while
        installations do not: a remembered login that is not allowed is checked with GitHub
        before the app leaves the account."""
        if self.allowed_owners is None:
            return None
        iid = installation_id(event)
        if iid is None:
            return "no installation"
        named = installations.named_accounts(event.data)
        account = named.installation
        if account is None:
            account = await self.db.run(self.installations.account, iid)
            if (
                account is not None
                and not self._allowed(account)
                and not await self.db.run(self.installations.refused, iid)
            ):
                account = None  # perhaps renamed since: GitHub says, before anything is done
        if account is None:
            try:
                account = await self._look_up(iid)
            except _GITHUB_FAILURES as error:
                # GitHub cannot say now. The payload's owners are GitHub's own word on whose
                # repository this is: serve them if they are allowed, never uninstall on them.
                if named.owners and all(self._allowed(owner) for owner in named.owners):
                    return None
                log.warning(
                    "installation %s: its account is unknown (GitHub: %s: %s); %s %s not acted on",
                    iid,
                    type(error).__name__,
                    error,
                    event.event,
                    event.delivery_id,
                )
                return f"installation {iid}: its account is unknown (GitHub could not say)"
            if account is None:
                if _uninstalled(event):
                    # Its account unknown (GitHub's schema lets the payload's be null) and
                    # GitHub no longer has it: acting on an uninstall only stops its jobs.
                    return None
                return f"installation {iid} no longer exists on GitHub"
        if not self._allowed(account):
            await self._refuse(iid, account, already_gone=_uninstalled(event))
            return f"installation {iid} is on {account}, which is not in ALLOWED_OWNERS"
        strangers = [owner for owner in named.owners if not self._allowed(owner)]
        if strangers:
            log.warning(
                "installation %s (%s) delivered %s %s about %s, not in ALLOWED_OWNERS: ignored",
                iid,
                account,
                event.event,
                event.delivery_id,
                ", ".join(strangers),
            )
            return f"names {', '.join(strangers)}, which is not in ALLOWED_OWNERS"
        return None

    def _allowed(self, login: str) -> bool:
        return self.allowed_owners is None or login.lower() in self.allowed_owners

    async def _look_up(self, iid: int) -> str | None:
        """The installation's account from GitHub, remembered in the database; one lookup at a
        time, so that a burst of one new installation's deliveries asks once (those waiting
        take what the first found, or the refusal it led to)."""
        async with self._lookups:
            known = await self.db.run(self.installations.account, iid)
            if known is not None and (
                self._allowed(known) or await self.db.run(self.installations.refused, iid)
            ):
                return known
            account = await installations.installation_account(self.gh, iid)
            if account is not None:
                await self.db.run(self.installations.remember_account, iid, account)
            return account

    async def _refuse(self, iid: int, account: str, *, already_gone: bool) -> None:
        """Leave an account that is not allowed: once per installation, whichever process and
        delivery get here first (a failed attempt is repeated at most every REFUSAL_RETRY)."""
        if not await self.db.run(
            self.installations.claim_refusal, iid, account, retry_after=REFUSAL_RETRY
        ):
            return
        log.warning(
            "installation %s is on account %s, which is not in ALLOWED_OWNERS: its deliveries "
            "are dropped and Conveyor uninstalls itself from it",
            iid,
            account,
        )
        # Nothing should be queued for it; jobs from before ALLOWED_OWNERS was set stop here.
        await self._stop_jobs(iid, REFUSED)
        if already_gone:
            await self.db.run(self.installations.removed, iid)
            return
        try:
            removed = await installations.uninstall(self.gh, iid)
        except _GITHUB_FAILURES as error:
            log.warning(
                "installation %s (%s): could not uninstall (%s: %s); trying again on one of its "
                "next deliveries",
                iid,
                account,
                type(error).__name__,
                error,
            )
            return
        await self.db.run(self.installations.removed, iid)
        log.info(
            "installation %s (%s): %s",
            iid,
            account,
            "uninstalled" if removed else "already gone from GitHub",
        )
