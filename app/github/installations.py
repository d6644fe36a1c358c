"""The app's installations as the app itself sees them, with its JWT: whose account one is on,
leaving an account, and which accounts have the app installed. Also which accounts a delivery
names, for ALLOWED_OWNERS (the check itself is in intake.py).

Any GitHub account can install an app that is public; each installation runs its code on the
machine. GitHub's `GET /app` has no field saying whether the app is public, so the start-up
warning says who has it installed instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest, GitHubException

from app.github.client import GitHubClient

# A public app can be on thousands of accounts: the warning names this many.
SHOWN_ACCOUNTS = 20


@dataclass(frozen=True)
class NamedAccounts:
    """The account logins a delivery's payload names (as GitHub spells them)."""

    # `installation.account.login`: only `installation` and `installation_repositories`
    # events carry it; the others name just the installation's id.
    installation: str | None
    # `repository.owner.login` and `organization.login`: the owner of what the event is about.
    owners: tuple[str, ...]


def _login(value: Any) -> str | None:
    if isinstance(value, dict):
        login = value.get("login")
        if isinstance(login, str) and login:
            return login
    return None


def named_accounts(data: Mapping[str, Any]) -> NamedAccounts:
    """What the payload says; a missing or mistyped field says nothing."""
    installation = data.get("installation")
    account = _login(installation.get("account")) if isinstance(installation, dict) else None
    owners = []
    repository = data.get("repository")
    if isinstance(repository, dict) and (owner := _login(repository.get("owner"))):
        owners.append(owner)
    if organization := _login(data.get("organization")):
        owners.append(organization)
    return NamedAccounts(account, tuple(owners))


async def installation_account(client: GitHubClient, installation_id: int) -> str | None:
    """The login of the account the installation is on (`GET /app/installations/{id}`); None
    when GitHub has no such installation (any more)."""
    try:
        data = await client.api.getitem(
            "/app/installations/{installation_id}",
            {"installation_id": installation_id},
            jwt=client.app_jwt(),
        )
    except BadRequest as error:
        if int(error.status_code) == 404:
            return None
        raise
    account = _login(data.get("account")) if isinstance(data, dict) else None
    if account is None:
        raise ValueError(f"installation {installation_id}: GitHub's answer names no account")
    return account


async def uninstall(client: GitHubClient, installation_id: int) -> bool:
    """Uninstall the app from the installation's account (`DELETE /app/installations/{id}`,
    204): True; False when it was already gone (404)."""
    try:
        await client.api.delete(
            "/app/installations/{installation_id}",
            {"installation_id": installation_id},
            jwt=client.app_jwt(),
        )
    except BadRequest as error:
        if int(error.status_code) == 404:
            return False
        raise
    return True


async def installed_on(client: GitHubClient) -> tuple[str | None, list[str]]:
    """The app's owner (`GET /app`) and the accounts it is installed on (`GET
    /app/installations`, every page)."""
    app = await client.api.getitem("/app", jwt=client.app_jwt())
    owner = _login(app.get("owner")) if isinstance(app, dict) else None
    accounts = []
    async for item in client.api.getiter("/app/installations", jwt=client.app_jwt()):
        if isinstance(item, dict) and (login := _login(item.get("account"))):
            accounts.append(login)
    return owner, accounts


def open_to_anyone(owner: str | None, accounts: list[str] | None, why: str = "") -> str:
    """The start-up warning when ALLOWED_OWNERS is not set: one line."""
    line = (
        "ALLOWED_OWNERS is not set: any GitHub account that installs this app runs code on "
        "this machine"
    )
    if accounts is None:
        line += f" (GitHub could not be asked who has it installed: {why})"
    elif accounts:
        shown = ", ".join(sorted(accounts, key=str.lower)[:SHOWN_ACCOUNTS])
        more = len(accounts) - SHOWN_ACCOUNTS
        line += f"; installed on: {shown}" + (f" and {more} more" if more > 0 else "")
    else:
        line += "; it is installed on no account yet"
    suggestion = owner or "YOUR-ORGANISATION"
    return (
        f"{line}. Set ALLOWED_OWNERS={suggestion} (comma-separated logins) to refuse every "
        'other account, and register the app "Only on this account".'
    )


async def exposure_warning(client: GitHubClient) -> str:
    """`open_to_anyone` with what GitHub says; it never raises for GitHub's sake."""
    try:
        owner, accounts = await installed_on(client)
    except (GitHubException, OSError, TimeoutError, ValueError, KeyError, TypeError) as error:
        return open_to_anyone(None, None, f"{type(error).__name__}: {error}".rstrip(": "))
    return open_to_anyone(owner, accounts)
