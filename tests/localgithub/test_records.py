"""The records of the emulator's world (app/localgithub/records.py), seen through what they
decide: which webhooks an app receives (its subscription and its installation's
permissions), and how a repository is named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import SECRET
from tests.localgithub.helpers import WebhookReceiver, commit, new_worktree


@pytest.fixture
async def other_receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver(SECRET)
    await hook.start()
    yield hook
    await hook.stop()


async def test_the_checks_permission_brings_check_suites_without_subscribing(
    gh: LocalGitHub, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    app = gh.register_app(
        "checker",
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        permissions={"checks": "write", "metadata": "read"},
        events=(),
    )
    installation = await gh.install(app, account="octo-org")
    repo = await gh.create_repository("octo-org", "hello", installation_id=installation)
    work = await new_worktree(tmp_path / "work")
    await commit(work, {"README.md": "hello\n"}, "Initial commit")
    await gh.push(repo, work)
    # Installation events reach every app; check suites come with the checks permission;
    # push is neither, and the app did not subscribe to it.
    assert receiver.events() == [
        ("installation", "created"),
        ("installation_repositories", "added"),
        ("check_suite", "requested"),
    ]


async def test_issue_comments_need_the_issues_permission(
    gh: LocalGitHub,
    receiver: WebhookReceiver,
    other_receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    readers = gh.register_app(
        "reader",
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        permissions={"issues": "read", "metadata": "read"},
        events=("issue_comment",),
    )
    blind = gh.register_app(
        "blind",
        webhook_url=other_receiver.url,
        webhook_secret=SECRET,
        permissions={"metadata": "read"},
        events=("issue_comment",),
    )
    repo = await gh.create_repository("octo-org", "hello", owner_type="Organization")
    for app in (readers, blind):
        await gh.install(app, account="octo-org", repositories=[repo])
    issue = await gh.open_issue(repo, "Broken")
    await gh.comment(issue, "It is")
    assert len(receiver.of("issue_comment", "created")) == 1
    assert other_receiver.of("issue_comment") == []


async def test_a_repository_is_named_after_its_owner(gh: LocalGitHub) -> None:
    repo = await gh.create_repository("mona", "spoon-knife")
    assert repo.full_name == "mona/spoon-knife"
    assert repo.owner == "mona"
