"""app/github/installations.py: the accounts GitHub's example payloads name, and the app's own
calls (whose installation, uninstalling, who has it) against the local GitHub."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import aiohttp
import gidgethub
import pytest

from app.github.client import GitHubClient, RetryPolicy
from app.github.installations import (
    SHOWN_ACCOUNTS,
    NamedAccounts,
    exposure_warning,
    installation_account,
    installed_on,
    named_accounts,
    open_to_anyone,
    uninstall,
)
from app.localgithub import GitHubApp, LocalGitHub

PAYLOADS = Path(__file__).resolve().parents[2] / "app" / "localgithub" / "payloads"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def load(name: str) -> dict[str, Any]:
    data = json.loads((PAYLOADS / name).read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("name", "named"),
    [
        # Installation events name the installation's account...
        ("installation.created.json", NamedAccounts("Codertocat", ())),
        ("installation.deleted.json", NamedAccounts("octocat", ())),
        ("installation_repositories.added.json", NamedAccounts("Codertocat", ())),
        # ... the others only the installation's id, and the repository's owner.
        ("push.with-installation.json", NamedAccounts(None, ("Codertocat",))),
        ("pull_request.opened.json", NamedAccounts(None, ("Codertocat",))),
        ("check_suite.rerequested.json", NamedAccounts(None, ("Codertocat",))),
        ("check_run.rerequested.json", NamedAccounts(None, ("github", "github"))),
        ("check_run.requested_action.json", NamedAccounts(None, ("electron", "electron"))),
        ("issue_comment.created.json", NamedAccounts(None, ("Codertocat",))),
    ],
)
def test_the_accounts_githubs_payloads_name(name: str, named: NamedAccounts) -> None:
    assert named_accounts(load(name)) == named


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"installation": 1, "repository": "octo-org/sample", "organization": []},
        {"installation": {"id": 1, "account": {"login": 7}}, "repository": {"owner": None}},
        {"installation": {"id": 1, "account": {"login": ""}}, "organization": {"login": None}},
    ],
)
def test_missing_or_mistyped_accounts_say_nothing(data: dict[str, Any]) -> None:
    assert named_accounts(data) == NamedAccounts(None, ())


def client_for(
    session: aiohttp.ClientSession, app: GitHubApp, url: str, **kwargs: Any
) -> GitHubClient:
    return GitHubClient(
        session, api_url=url, app_id=str(app.id), private_key=app.private_key_pem, **kwargs
    )


async def test_the_installations_account_uninstalling_and_who_has_the_app(
    github: LocalGitHub, session: aiohttp.ClientSession
) -> None:
    app = github.register_app("conveyor", owner="octo-org")
    ours = await github.install(app, account="octo-org")
    theirs = await github.install(app, account="Mallory", account_type="User")
    assert github.url is not None
    client = client_for(session, app, github.url)

    assert await installation_account(client, ours) == "octo-org"
    assert await installation_account(client, theirs) == "Mallory"
    assert await installation_account(client, 12345) is None
    assert await installed_on(client) == ("octo-org", ["octo-org", "Mallory"])

    assert await uninstall(client, theirs) is True
    assert await uninstall(client, theirs) is False  # already gone: GitHub's 404
    assert await installation_account(client, theirs) is None
    assert await installed_on(client) == ("octo-org", ["octo-org"])
    # Every call was the app's own, with its JWT; GitHub refused none but the 404s.
    assert {call.auth for call in github.calls} == {"jwt"}
    assert [(c.method, c.status) for c in github.refused()] == [
        ("GET", 404),
        ("DELETE", 404),
        ("GET", 404),
    ]
    assert not github.tokens_issued


async def test_a_refusal_other_than_404_is_raised(
    github: LocalGitHub, session: aiohttp.ClientSession
) -> None:
    app = github.register_app("conveyor")
    installation = await github.install(app, account="mallory")
    assert github.url is not None
    client = client_for(session, app, github.url)
    github.inject_fault(
        "DELETE", r"^/app/installations/", 403, body={"message": "Resource not accessible"}
    )
    with pytest.raises(gidgethub.BadRequest):
        await uninstall(client, installation)
    github.inject_fault("GET", r"^/app/installations/", 401)
    with pytest.raises(gidgethub.BadRequest):
        await installation_account(client, installation)


def test_the_warning_names_the_accounts_and_suggests_the_owner() -> None:
    assert open_to_anyone("octo-org", ["octo-org", "mallory"]) == (
        "ALLOWED_OWNERS is not set: any GitHub account that installs this app runs code on "
        "this machine; installed on: mallory, octo-org. Set ALLOWED_OWNERS=octo-org "
        "(comma-separated logins) to refuse every other account, and register the app "
        '"Only on this account".'
    )
    assert "installed on no account yet" in open_to_anyone("octo-org", [])
    many = [f"user-{n:03}" for n in range(SHOWN_ACCOUNTS + 5)]
    line = open_to_anyone("octo-org", many)
    assert f"user-{SHOWN_ACCOUNTS - 1:03} and 5 more." in line
    assert f"user-{SHOWN_ACCOUNTS:03}" not in line
    assert "\n" not in line


async def test_the_warning_from_github_and_without_it(
    github: LocalGitHub, session: aiohttp.ClientSession
) -> None:
    app = github.register_app("conveyor", owner="octo-org")
    await github.install(app, account="octo-org")
    await github.install(app, account="mallory", account_type="User")
    assert github.url is not None
    warning = await exposure_warning(client_for(session, app, github.url))
    assert "installed on: mallory, octo-org. Set ALLOWED_OWNERS=octo-org " in warning

    async def no_sleep(_: float) -> None:
        return None

    nowhere = client_for(
        session,
        app,
        f"http://127.0.0.1:{free_port()}",
        policy=RetryPolicy(attempts=2),
        sleep=no_sleep,
    )
    warning = await exposure_warning(nowhere)
    assert warning.startswith(
        "ALLOWED_OWNERS is not set: any GitHub account that installs this app runs code on "
        "this machine (GitHub could not be asked who has it installed: ClientConnectorError"
    )
    assert "Set ALLOWED_OWNERS=YOUR-ORGANISATION " in warning
