"""app/owners.py (ALLOWED_OWNERS), through the intake every delivery goes through: deliveries of
installations on other accounts are dropped before anything is fetched or run, and Conveyor
uninstalls itself from those accounts once; on both databases, against the local GitHub, with
the deliveries it really sent."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app import owners as owners_module
from app.github.client import GitHubClient, RetryPolicy
from app.intake import Intake
from app.localgithub import GitHubApp, LocalGitHub, Repository, WebhookDelivery
from app.metrics import Metrics
from app.reporter import Reporter
from app.run_request import RunRequest
from app.scheduler import Scheduler
from app.state import State
from app.state.database import open_database
from app.state.deliveries import Delivery
from app.state.jobs import FINISHED, JobQueue
from tests.localgithub.helpers import WebhookReceiver, commit, new_worktree


@dataclass
class World:
    github: LocalGitHub
    app: GitHubApp
    octo: int  # octo-org's installation
    mallory: int  # mallory's
    sample: Repository
    evil: Repository
    state: State
    queue: JobQueue
    session: aiohttp.ClientSession
    tmp: Path

    def intake(self, allowed: frozenset[str] | None, **client: Any) -> Intake:
        assert self.github.url is not None
        gh = GitHubClient(
            self.session,
            api_url=self.github.url,
            app_id=str(self.app.id),
            private_key=self.app.private_key_pem,
            **client,
        )
        return Intake(
            app_id=str(self.app.id),
            state=self.state,
            scheduler=Scheduler(self.queue, Reporter(gh, "http://127.0.0.1:1")),
            gh=gh,
            allowed_owners=allowed,
        )

    def sent(self, installation: int, event: str, action: str | None = None) -> Delivery:
        """The last delivery of this kind the local GitHub sent, as the web handler stores it."""
        found: list[WebhookDelivery] = [
            d
            for d in self.github.deliveries
            if d.installation_id == installation and (d.event, d.action) == (event, action)
        ]
        delivery = found[-1]
        assert self.state.deliveries.record(delivery.delivery_id, event, action, delivery.body)
        return Delivery(delivery.delivery_id, event, delivery.body)

    def processed(self, delivery: Delivery) -> tuple[bool, str | None]:
        row = self.state.db.execute(
            "SELECT processed_at, error FROM deliveries WHERE delivery_id = ?",
            (delivery.delivery_id,),
        ).fetchone()
        assert row is not None
        return row["processed_at"] is not None, row["error"]

    def calls(self, method: str, path: str) -> int:
        return sum(1 for c in self.github.calls if (c.method, c.path) == (method, path))


@pytest.fixture
async def world(tmp_path: Path, database_url: str | None) -> AsyncIterator[World]:
    receiver = WebhookReceiver("s3cret")
    await receiver.start()
    github = LocalGitHub(tmp_path / "github")
    await github.start()
    app = github.register_app("conveyor", webhook_url=receiver.url, webhook_secret="s3cret")
    octo = await github.install(app, account="octo-org")
    sample = await github.create_repository("octo-org", "sample", installation_id=octo)
    mallory = await github.install(app, account="mallory", account_type="User")
    evil = await github.create_repository("mallory", "evil", installation_id=mallory)
    for repo, name in ((sample, "sample"), (evil, "evil")):
        work = await new_worktree(tmp_path / name)
        await commit(work, {"test_it.py": "def test_it():\n    pass\n"}, "Initial")
        await github.push(repo, work)
    state = State.on(open_database(database_url, tmp_path / "data"))
    async with aiohttp.ClientSession() as session:
        yield World(github, app, octo, mallory, sample, evil, state, state.jobs, session, tmp_path)
    state.close()
    await github.stop()
    await receiver.stop()


async def test_without_allowed_owners_nothing_is_checked(world: World) -> None:
    intake = world.intake(None)
    await intake.process(world.sent(world.mallory, "push"))
    assert world.github.check_runs(world.evil)  # served, as before ALLOWED_OWNERS existed
    assert world.calls("GET", f"/app/installations/{world.mallory}") == 0


async def test_another_accounts_deliveries_are_dropped_and_the_app_leaves_it_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    intake = world.intake(frozenset({"octo-org"}))
    github = world.github
    calls_before = len(github.calls)
    with caplog.at_level(logging.INFO, logger="app.intake"):
        # A push names the installation's id only: its account is asked of GitHub (JWT).
        push = world.sent(world.mallory, "push")
        await intake.process(push)
        suite = world.sent(world.mallory, "check_suite", "requested")
        await intake.process(suite)
        await github.wait_idle()  # GitHub's `installation` deleted, after the DELETE
        deleted = world.sent(world.mallory, "installation", "deleted")
        await intake.process(deleted)
        added = world.sent(world.mallory, "installation_repositories", "added")
        await intake.process(added)

    reason = f"refused: installation {world.mallory} is on mallory, which is not in ALLOWED_OWNERS"
    for delivery in (push, suite, deleted, added):
        assert world.processed(delivery) == (True, reason)
    # Nothing fetched or run for it: no token, no check run, no git; one lookup, one DELETE.
    assert not [t for t in github.tokens_issued if t.installation_id == world.mallory]
    assert github.check_runs(world.evil) == []
    assert world.queue.counts() == {}
    new_calls = github.calls[calls_before:]
    assert [(c.method, c.path, c.status, c.auth) for c in new_calls] == [
        ("GET", f"/app/installations/{world.mallory}", 200, "jwt"),
        ("DELETE", f"/app/installations/{world.mallory}", 204, "jwt"),
    ]
    assert world.state.installations.get(world.mallory) == ("mallory", False, [])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"installation {world.mallory} is on account mallory, which is not in ALLOWED_OWNERS: "
        "its deliveries are dropped and Conveyor uninstalls itself from it"
    ]
    metrics = Metrics(world.queue, world.state.installations).render().decode()
    assert "conveyor_installations_refused_total 1.0" in metrics.splitlines()


async def test_an_allowed_accounts_deliveries_are_served_and_its_account_looked_up_once(
    world: World,
) -> None:
    intake = world.intake(frozenset({"OCTO-ORG".lower(), "someone-else"}))
    await intake.process(world.sent(world.octo, "push"))
    await intake.process(world.sent(world.octo, "check_suite", "requested"))
    [run] = world.github.check_runs(world.sample)
    assert run.status == "queued"
    assert world.calls("GET", f"/app/installations/{world.octo}") == 1
    assert world.state.installations.account(world.octo) == "octo-org"
    assert world.calls("DELETE", f"/app/installations/{world.octo}") == 0


async def test_logins_are_compared_without_case(world: World) -> None:
    intake = world.intake(frozenset({"mallory"}))
    world.state.installations.remember_account(world.mallory, "MalLory")
    await intake.process(world.sent(world.mallory, "push"))
    assert world.github.check_runs(world.evil)
    assert world.calls("GET", f"/app/installations/{world.mallory}") == 0  # remembered


async def test_a_remembered_login_not_allowed_is_checked_with_github_first(world: World) -> None:
    """An account renamed since (the installation keeps its id): not uninstalled on a name
    that is no longer its own."""
    world.state.installations.record(world.octo, "octo-org-old-name", active=True)
    intake = world.intake(frozenset({"octo-org"}))
    await intake.process(world.sent(world.octo, "push"))
    assert len(world.github.check_runs(world.sample)) == 1
    assert world.calls("GET", f"/app/installations/{world.octo}") == 1
    assert world.calls("DELETE", f"/app/installations/{world.octo}") == 0
    assert world.state.installations.account(world.octo) == "octo-org"
    # A refused installation is not asked about again at each of its deliveries.
    await intake.process(world.sent(world.mallory, "push"))
    await intake.process(world.sent(world.mallory, "check_suite", "requested"))
    assert world.calls("GET", f"/app/installations/{world.mallory}") == 1


async def test_an_installation_event_names_the_account_itself(world: World) -> None:
    intake = world.intake(frozenset({"octo-org"}))
    created = world.sent(world.mallory, "installation", "created")
    await intake.process(created)
    assert world.processed(created)[1] is not None
    assert world.calls("GET", f"/app/installations/{world.mallory}") == 0
    assert world.calls("DELETE", f"/app/installations/{world.mallory}") == 1
    # octo-org's own installation event is recorded as before.
    ours = world.sent(world.octo, "installation", "created")
    await intake.process(ours)
    assert world.processed(ours) == (True, None)
    assert world.state.installations.get(world.octo) == ("octo-org", True, [])


async def test_when_github_cannot_say_whose_installation_the_payloads_owner_decides(
    world: World,
) -> None:
    world.github.inject_fault("GET", r"^/app/installations/\d+$", 502, times=100)

    async def no_wait(_: float) -> None:
        return None

    intake = world.intake(frozenset({"octo-org"}), policy=RetryPolicy(attempts=2), sleep=no_wait)
    # The repository's owner, in GitHub's signed payload, is allowed: served.
    await intake.process(world.sent(world.octo, "push"))
    assert len(world.github.check_runs(world.sample)) == 1
    # Not allowed, or not named: dropped, but nobody is uninstalled on a guess.
    push = world.sent(world.mallory, "push")
    await intake.process(push)
    assert world.processed(push) == (
        True,
        f"refused: installation {world.mallory}: its account is unknown (GitHub could not say)",
    )
    assert world.calls("DELETE", f"/app/installations/{world.mallory}") == 0
    assert world.github.check_runs(world.evil) == []
    assert world.state.installations.refused_count() == 0


async def test_an_installation_github_no_longer_has_is_dropped(world: World) -> None:
    await world.github.uninstall(world.mallory)
    intake = world.intake(frozenset({"octo-org"}))
    push = world.sent(world.mallory, "push")
    await intake.process(push)
    assert world.processed(push) == (
        True,
        f"refused: installation {world.mallory} no longer exists on GitHub",
    )
    assert world.calls("DELETE", f"/app/installations/{world.mallory}") == 0


async def test_a_failed_uninstall_is_tried_again_later_not_at_every_delivery(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.github.inject_fault("DELETE", r"^/app/installations/", 500, times=2)

    async def no_wait(_: float) -> None:
        return None

    intake = world.intake(frozenset({"octo-org"}), policy=RetryPolicy(attempts=2), sleep=no_wait)
    path = f"/app/installations/{world.mallory}"
    await intake.process(world.sent(world.mallory, "push"))
    assert world.calls("DELETE", path) == 2  # one call, retried once
    await intake.process(world.sent(world.mallory, "check_suite", "requested"))
    assert world.calls("DELETE", path) == 2  # not again so soon
    assert world.state.installations.get(world.mallory) == ("mallory", True, [])
    monkeypatch.setattr(owners_module, "REFUSAL_RETRY", 0.0)
    await intake.process(world.sent(world.mallory, "installation_repositories", "added"))
    assert world.calls("DELETE", path) == 3
    assert world.state.installations.get(world.mallory) == ("mallory", False, [])
    assert world.state.installations.refused_count() == 1


async def test_the_account_uninstalling_the_app_itself_costs_no_call(world: World) -> None:
    await world.github.uninstall(world.mallory)
    intake = world.intake(frozenset({"octo-org"}))
    deleted = world.sent(world.mallory, "installation", "deleted")
    await intake.process(deleted)
    assert world.processed(deleted)[1] is not None
    assert world.calls("DELETE", f"/app/installations/{world.mallory}") == 0
    assert world.state.installations.get(world.mallory) == ("mallory", False, [])


async def test_jobs_queued_before_allowed_owners_was_set_are_stopped(world: World) -> None:
    evil = world.evil
    request = RunRequest(
        repo_full_name=evil.full_name,
        repo_id=evil.id,
        installation_id=world.mallory,
        clone_url="http://127.0.0.1:1/mallory/evil.git",
        head_sha="a" * 40,
        fetch_ref="refs/heads/main",
        lane=f"{evil.id}:branch:main",
        reason="push",
    )
    job = world.queue.enqueue(request, "tests").job
    assert job is not None
    world.queue.set_check_run(job.id, 99)
    intake = world.intake(frozenset({"octo-org"}))
    await intake.process(world.sent(world.mallory, "push"))
    stopped = world.queue.get(job.id)
    assert stopped is not None
    assert stopped.state == FINISHED
    assert stopped.output is not None
    assert "ALLOWED_OWNERS" in stopped.output.summary
    # Its check run is left alone: the app is leaving the account.
    assert not [c for c in world.github.calls if c.path.startswith("/repos/mallory/")]


async def test_an_allowed_installation_naming_another_owner_is_dropped_not_uninstalled(
    world: World,
) -> None:
    """Cannot happen with GitHub (an installation delivers its own account's repositories);
    if it ever did, the delivery is not acted on."""
    world.state.installations.remember_account(world.octo, "octo-org")
    push: dict[str, Any] = json.loads(world.sent(world.octo, "push").body)
    push["repository"]["owner"]["login"] = "mallory"
    body = json.dumps(push).encode()
    world.state.deliveries.record("odd", "push", None, body)
    intake = world.intake(frozenset({"octo-org"}))
    delivery = Delivery("odd", "push", body)
    await intake.process(delivery)
    assert world.processed(delivery) == (
        True,
        "refused: names mallory, which is not in ALLOWED_OWNERS",
    )
    assert world.github.check_runs(world.sample) == []
    assert world.state.installations.refused_count() == 0


@pytest.mark.parametrize("allowed", [None, frozenset({"octo-org"})])
async def test_an_uninstall_whose_account_is_null_stops_the_installations_jobs(
    world: World, allowed: frozenset[str] | None
) -> None:
    """GitHub's schema lets `installation.account` be null. An uninstall saying so used to fail
    with AttributeError (without ALLOWED_OWNERS) or be refused as "no longer exists on GitHub"
    (with it): either way the installation's jobs went on."""
    sample = world.sample
    request = RunRequest(
        repo_full_name=sample.full_name,
        repo_id=sample.id,
        installation_id=world.octo,
        clone_url="http://127.0.0.1:1/octo-org/sample.git",
        head_sha="b" * 40,
        fetch_ref="refs/heads/main",
        lane=f"{sample.id}:branch:main",
        reason="push",
    )
    job = world.queue.enqueue(request, "tests").job
    assert job is not None
    await world.github.uninstall(world.octo)
    delivery = world.sent(world.octo, "installation", "deleted")
    data = json.loads(delivery.body)
    data["installation"]["account"] = None
    nulled = Delivery(delivery.delivery_id, delivery.event, json.dumps(data).encode())
    await world.intake(allowed).process(nulled)
    assert world.processed(nulled) == (True, None)
    stopped = world.queue.get(job.id)
    assert stopped is not None
    assert stopped.state == FINISHED
    known = world.state.installations.get(world.octo)
    assert known is not None
    assert known[1] is False  # inactive
