"""What GitHub sends after installs, pushes and pull-request changes, and how it sends it."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import gidgethub
import pytest
from gidgethub import apps
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import SECRET, World
from tests.localgithub.helpers import Received, WebhookReceiver, commit, git, new_worktree

ZERO = "0" * 40


async def ref_of(repo_path: Path, ref: str) -> str:
    return (await git("rev-parse", ref, cwd=repo_path)).stdout


async def test_deliveries_look_like_githubs(
    world: World, gh: LocalGitHub, receiver: WebhookReceiver
) -> None:
    assert receiver.events() == [
        ("installation", "created"),
        ("installation_repositories", "added"),
        ("push", None),
        ("check_suite", "requested"),
    ]
    for item in receiver.received:
        assert item.signature_ok
        assert item.headers["User-Agent"].startswith("GitHub-Hookshot/")
        assert item.headers["Content-Type"] == "application/json"
        assert item.headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
        assert item.headers["X-GitHub-Hook-Installation-Target-ID"] == str(world.app.id)
        assert item.headers["X-Hub-Signature"].startswith("sha1=")
        assert uuid.UUID(item.delivery_id)
        assert item.payload["installation"]["id"] == world.installation_id
    assert [d.status for d in gh.deliveries] == [202] * 4
    assert all(d.elapsed >= 0 for d in gh.deliveries)
    installed = receiver.received[0].payload
    assert installed["installation"]["app_id"] == world.app.id
    assert installed["installation"]["account"]["login"] == "octo-org"
    added = receiver.received[1].payload
    assert [r["full_name"] for r in added["repositories_added"]] == ["octo-org/hello"]


async def test_push_payload_is_filled_from_git(
    world: World, receiver: WebhookReceiver, gh: LocalGitHub
) -> None:
    [push] = receiver.of("push")
    payload = push.payload
    assert payload["ref"] == "refs/heads/main"
    assert (payload["before"], payload["after"]) == (ZERO, world.sha)
    assert payload["created"] is True
    assert payload["forced"] is False
    assert payload["deleted"] is False
    [only] = payload["commits"]
    assert only["id"] == world.sha
    assert only["message"] == "Initial commit"
    assert only["author"] == {"name": "Mona Lisa", "email": "mona@example.com"}
    assert sorted(only["added"]) == ["README.md", "src/app.py"]
    assert payload["head_commit"]["id"] == world.sha
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$", only["timestamp"])
    repository = payload["repository"]
    assert repository["id"] == world.repo.id
    assert repository["full_name"] == "octo-org/hello"
    assert repository["clone_url"] == world.repo.clone_url == f"{gh.url}/octo-org/hello.git"
    assert repository["default_branch"] == "main"
    assert repository["owner"]["login"] == "octo-org"
    assert payload["organization"]["login"] == "octo-org"
    assert "Codertocat" not in push.body.decode()

    [requested] = receiver.of("check_suite", "requested")
    suite = requested.payload["check_suite"]
    assert suite["head_sha"] == world.sha
    assert suite["head_branch"] == "main"
    assert suite["status"] == "queued"
    assert suite["app"]["id"] == world.app.id
    assert suite["pull_requests"] == []
    assert suite["head_commit"]["message"] == "Initial commit"


async def test_later_pushes(world: World, gh: LocalGitHub, receiver: WebhookReceiver) -> None:
    second = await commit(world.work, {"README.md": "hello again\n"}, "Second")
    assert await gh.push(world.repo, world.work) == second
    push = receiver.of("push")[-1].payload
    assert (push["before"], push["after"], push["created"], push["forced"]) == (
        world.sha,
        second,
        False,
        False,
    )
    assert [c["modified"] for c in push["commits"]] == [["README.md"]]

    # Same commit on a new branch: a push event, but no second suite for the sha.
    suites_before = len(receiver.of("check_suite"))
    await gh.push(world.repo, world.work, "copy")
    assert receiver.of("push")[-1].payload["commits"] == []
    assert len(receiver.of("check_suite")) == suites_before

    # Rewriting history needs force, and says so.
    await git("reset", "-q", "--hard", world.sha, cwd=world.work)
    rewritten = await commit(world.work, {"other.txt": "x\n"}, "Rewrite")
    with pytest.raises(RuntimeError):
        await gh.push(world.repo, world.work)
    await gh.push(world.repo, world.work, force=True)
    forced = receiver.of("push")[-1].payload
    assert forced["forced"] is True
    assert forced["after"] == rewritten

    # Pushing what is already there does nothing.
    count = len(receiver.received)
    await gh.push(world.repo, world.work, force=True)
    assert len(receiver.received) == count


async def test_deleting_a_branch(world: World, gh: LocalGitHub, receiver: WebhookReceiver) -> None:
    await gh.push(world.repo, world.work, "doomed")
    suites = len(receiver.of("check_suite"))
    await gh.delete_branch(world.repo, "doomed")
    deleted = receiver.of("push")[-1].payload
    assert (deleted["ref"], deleted["before"], deleted["after"]) == (
        "refs/heads/doomed",
        world.sha,
        ZERO,
    )
    assert deleted["deleted"] is True
    assert deleted["head_commit"] is None
    assert deleted["commits"] == []
    assert len(receiver.of("check_suite")) == suites
    with pytest.raises(ValueError, match="default branch"):
        await gh.delete_branch(world.repo, "main")


async def test_no_webhooks_for_repositories_without_the_app(
    world: World, gh: LocalGitHub, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    count = len(receiver.received)
    other = await gh.create_repository("someone", "elsewhere")
    work = await new_worktree(tmp_path / "elsewhere")
    await commit(work, {"a.txt": "a\n"}, "a")
    await gh.push(other, work)
    assert len(receiver.received) == count


async def test_pull_request_open_and_synchronize(
    world: World, gh: LocalGitHub, receiver: WebhookReceiver
) -> None:
    await git("checkout", "-q", "-b", "feature", cwd=world.work)
    first = await commit(world.work, {"src/app.py": "print('feature')\n"}, "Feature")
    await gh.push(world.repo, world.work, "feature")
    pr = await gh.open_pull_request(world.repo, head="feature", base="main", title="Add feature")
    assert (pr.number, pr.head_sha, pr.state) == (1, first, "open")

    [opened] = receiver.of("pull_request", "opened")
    body = opened.payload
    assert body["number"] == 1
    assert body["pull_request"]["head"]["ref"] == "feature"
    assert body["pull_request"]["head"]["sha"] == first
    assert body["pull_request"]["head"]["label"] == "octo-org:feature"
    assert body["pull_request"]["base"]["ref"] == "main"
    assert body["pull_request"]["base"]["sha"] == world.sha
    assert body["pull_request"]["html_url"] == f"{gh.url}/octo-org/hello/pull/1"
    assert body["pull_request"]["title"] == "Add feature"
    assert body["pull_request"]["commits"] == 1
    assert await ref_of(world.repo.bare_path, "refs/pull/1/head") == first
    merge = await ref_of(world.repo.bare_path, "refs/pull/1/merge")
    assert (
        await git("rev-parse", f"{merge}^1", f"{merge}^2", cwd=world.repo.bare_path)
    ).stdout.split() == [
        world.sha,
        first,
    ]

    second = await commit(world.work, {"src/app.py": "print('better')\n"}, "Better")
    await gh.push(world.repo, world.work, "feature")
    suite = receiver.of("check_suite", "requested")[-1].payload["check_suite"]
    assert suite["head_sha"] == second
    [listed] = suite["pull_requests"]
    assert listed["number"] == 1
    assert listed["head"]["sha"] == second
    [synchronize] = receiver.of("pull_request", "synchronize")
    assert (synchronize.payload["before"], synchronize.payload["after"]) == (first, second)
    assert synchronize.payload["pull_request"]["head"]["sha"] == second
    assert await ref_of(world.repo.bare_path, "refs/pull/1/head") == second

    closed = await gh.close_pull_request(pr)
    assert closed.state == "closed"
    assert receiver.of("pull_request", "closed")[0].payload["pull_request"]["state"] == "closed"
    # Pushes to the head of a closed pull request synchronize nothing.
    await commit(world.work, {"x.txt": "x\n"}, "While closed")
    third = await gh.push(world.repo, world.work, "feature")
    assert len(receiver.of("pull_request", "synchronize")) == 1
    reopened = await gh.reopen_pull_request(closed)
    assert (reopened.state, reopened.head_sha) == ("open", third)
    assert (
        receiver.of("pull_request", "reopened")[0].payload["pull_request"]["head"]["sha"] == third
    )


async def test_fork_pull_request(
    world: World, gh: LocalGitHub, receiver: WebhookReceiver, api: GitHubAPI, token: str
) -> None:
    fork = await gh.fork(world.repo, owner="forker")
    assert fork.fork
    assert fork.parent == world.repo
    assert fork.installation_id is None
    await git("checkout", "-q", "-b", "contribution", cwd=world.work)
    head = await commit(world.work, {"src/app.py": "print('from a fork')\n"}, "Contribution")
    count = len(receiver.received)
    await gh.push(fork, world.work, "contribution")
    assert len(receiver.received) == count  # the fork has no app installed

    pr = await gh.open_pull_request(world.repo, head="contribution", head_repo=fork)
    [opened] = receiver.of("pull_request", "opened")
    pull = opened.payload["pull_request"]
    assert pull["head"]["repo"]["full_name"] == "forker/hello"
    assert pull["head"]["repo"]["fork"] is True
    assert pull["base"]["repo"]["full_name"] == "octo-org/hello"
    assert pull["user"]["login"] == "forker"
    assert opened.payload["repository"]["full_name"] == "octo-org/hello"
    assert await ref_of(world.repo.bare_path, f"refs/pull/{pr.number}/head") == head

    # The service checks the fork's commit in the base repository.
    run = await api.post(
        "/repos/octo-org/hello/check-runs",
        data={"name": "tests", "head_sha": head},
        oauth_token=token,
    )
    assert run["pull_requests"] == []
    await gh.wait_idle()
    [created] = receiver.of("check_run", "created")
    assert created.payload["check_run"]["check_suite"]["pull_requests"] == []
    assert created.payload["check_run"]["check_suite"]["head_branch"] is None

    newer = await commit(world.work, {"src/app.py": "print('v2')\n"}, "v2")
    await gh.push(fork, world.work, "contribution")
    [synchronize] = receiver.of("pull_request", "synchronize")
    assert synchronize.payload["after"] == newer
    assert synchronize.payload["installation"]["id"] == world.installation_id
    assert await ref_of(world.repo.bare_path, f"refs/pull/{pr.number}/head") == newer
    assert (
        receiver.of("check_suite", "requested")[-1].payload["check_suite"]["head_sha"] == world.sha
    )


async def test_unreachable_and_slow_receivers(tmp_path: Path, receiver: WebhookReceiver) -> None:
    gh = LocalGitHub(tmp_path / "github", webhook_timeout=0.2)
    await gh.start()
    try:
        app = gh.register_app(
            "conveyor", webhook_url="http://127.0.0.1:9/webhook", webhook_secret="s"
        )
        await gh.install(app, "octo-org")
        [refused] = gh.deliveries
        assert refused.status is None
        assert refused.error
        gh.set_webhook_url(app, receiver.url)
        receiver.secret = "s"
        # The receiver answers only once the sender is done: only giving up at its timeout
        # (0.2 s) ends the delivery.
        answer = asyncio.Event()

        async def hold(_: Received) -> None:
            await answer.wait()

        receiver.react = hold
        delivery = await gh.send_webhook(app, "ping", {"zen": "Keep it logically awesome."})
        answer.set()
        assert [r.event for r in receiver.received] == ["ping"]  # it arrived
        assert delivery.status is None
        assert delivery.error == "timed out after 0.2 s"
        assert len(gh.deliveries) == 2  # never retried
    finally:
        await gh.stop()


async def test_deliveries_api_and_redelivery(
    world: World, gh: LocalGitHub, receiver: WebhookReceiver, api: GitHubAPI
) -> None:
    app_jwt = apps.get_jwt(app_id=str(world.app.id), private_key=world.app.private_key_pem)
    listed = await api.getitem("/app/hook/deliveries", jwt=app_jwt)
    assert [d["event"] for d in listed] == [
        "check_suite",
        "push",
        "installation_repositories",
        "installation",
    ]
    push = listed[1]
    assert push["status_code"] == 202
    assert push["status"] == "OK"
    detail = await api.getitem(f"/app/hook/deliveries/{push['id']}", jwt=app_jwt)
    assert detail["request"]["payload"]["after"] == world.sha
    await api.post(f"/app/hook/deliveries/{push['id']}/attempts", data={}, jwt=app_jwt)
    await gh.wait_idle()
    again = receiver.received[-1]
    assert again.delivery_id == push["guid"]
    assert again.signature_ok
    assert gh.deliveries[-1].redelivery
    with pytest.raises(gidgethub.BadRequest):
        await api.getitem("/app/hook/deliveries/1", jwt=app_jwt)


async def test_uninstall_revokes_tokens(
    world: World, gh: LocalGitHub, api: GitHubAPI, token: str
) -> None:
    await gh.uninstall(world.installation_id)
    assert gh.deliveries[-1].event == "installation"
    assert gh.deliveries[-1].action == "deleted"
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.getitem("/repos/octo-org/hello", oauth_token=token)
    assert caught.value.status_code == 401


async def test_webhooks_without_a_secret_are_unsigned(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    async with LocalGitHub(tmp_path / "github") as gh:
        app = gh.register_app("plain", webhook_url=receiver.url)
        await gh.install(app, "octo-org")
        assert "X-Hub-Signature-256" not in receiver.received[0].headers
        assert not receiver.received[0].signature_ok


def test_signature_matches_githubs_test_vector() -> None:
    from app.localgithub.webhooks import signatures

    assert SECRET == "It's a Secret to Everybody"
    assert signatures(SECRET, b"Hello, World!")["X-Hub-Signature-256"] == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
