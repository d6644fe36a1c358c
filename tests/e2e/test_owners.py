"""ALLOWED_OWNERS through the real service: another account installs the app and pushes; nothing
of it is fetched or run, and the app uninstalls itself from that account.

SQLite only: what the gate keeps in the database (installations refused, once each) is tested on
both databases in process, in tests/test_owners.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from app.localgithub import CallRecord, LocalGitHub
from tests.e2e.harness import FAILING, PASSING, Harness, git, watched

DATABASES = ("sqlite",)


@pytest.fixture
async def owners(
    github: LocalGitHub, tmp_path: Path, database_url: str | None, caches: Path
) -> AsyncIterator[Harness]:
    """The service watching octo-org's repository, serving octo-org alone."""
    world = Harness(github, tmp_path, database_url, caches=caches)
    async with watched(world, extra_env={"ALLOWED_OWNERS": "Octo-Org"}) as world:
        yield world


async def eventually(what: str, check: Callable[[], bool], harness: Harness) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{harness.logs()[-6000:]}")
        await asyncio.sleep(0.05)


def uninstalls(github: LocalGitHub, installation_id: int) -> list[CallRecord]:
    return [
        call
        for call in github.calls
        if (call.method, call.path) == ("DELETE", f"/app/installations/{installation_id}")
    ]


async def metrics(harness: Harness) -> set[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{harness.service.url}/metrics") as response,
    ):
        assert response.status == 200
        return set((await response.text()).splitlines())


async def test_another_account_installs_the_app_and_nothing_of_it_runs(owners: Harness) -> None:
    github, app = owners.github, owners.app
    assert "ALLOWED_OWNERS is not set" not in owners.logs()

    # mallory installs the app and creates a repository while the service hears nothing of
    # it (as when it was down), then pushes: a push names only the installation's id.
    github.set_webhook_url(app, None)
    mallory = await github.install(app, "mallory", account_type="User")
    evil = await github.create_repository("mallory", "evil", installation_id=mallory)
    github.set_webhook_url(app, f"{owners.service.url}/webhook")
    work = owners.tmp / "mallory-work"
    git(owners.tmp, "init", "-q", "-b", "main", str(work))
    git(work, "config", "user.name", "Mallory")
    git(work, "config", "user.email", "mallory@example.com")
    (work / "calc.py").write_text(PASSING["calc.py"])
    (work / "test_calc.py").write_text(FAILING["test_calc.py"])
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "run my code")
    sha = await github.push(evil, work)

    await eventually(
        "the app to uninstall itself", lambda: bool(uninstalls(github, mallory)), owners
    )
    await github.wait_idle()  # GitHub's `installation` deleted, sent after the DELETE
    theirs = [d for d in github.deliveries if d.installation_id == mallory]
    assert [(d.event, d.action, d.status) for d in theirs] == [
        ("push", None, 202),
        ("check_suite", "requested", 202),
        ("installation", "deleted", 202),
    ]
    [call] = uninstalls(github, mallory)
    assert (call.status, call.auth) == (204, "jwt")
    log = owners.service.log()
    assert (
        f"installation {mallory} is on account mallory, which is not in ALLOWED_OWNERS: its "
        "deliveries are dropped and Conveyor uninstalls itself from it"
    ) in log

    # mallory installs it again, and the service hears of it at once this time.
    again = await github.install(app, "mallory", account_type="User")
    await eventually("the second uninstall", lambda: bool(uninstalls(github, again)), owners)
    assert f"installation {again} is on account mallory" in owners.service.log()
    assert "conveyor_installations_refused_total 2.0" in await metrics(owners)

    # octo-org is served as ever.
    ours = owners.commit(PASSING, "calculator")
    await owners.push("main")
    [run] = await owners.completed(ours)
    assert run.conclusion == "success", run.output

    # Nothing was fetched or run for mallory: no token, no git, no check run, one DELETE each.
    assert {t.installation_id for t in github.tokens_issued} == {owners.installation_id}
    assert not [c for c in github.calls if c.kind == "git" and "/mallory/" in c.path.lower()]
    assert not [c for c in github.calls if c.path.startswith("/repos/mallory/")]
    assert github.check_runs(evil) == []
    assert github.check_runs(head_sha=sha) == []
    assert len(uninstalls(github, mallory)) == len(uninstalls(github, again)) == 1
