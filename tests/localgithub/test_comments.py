"""Comments on pull requests and issues: the issue_comment webhook (for `/conveyor run`), who
receives it, and the comments API with its permissions."""

from __future__ import annotations

import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub, PullRequest
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.conftest import SECRET, World, installation_token
from tests.localgithub.helpers import WebhookReceiver, commit, git

REPO = "/repos/octo-org/hello"


async def feature_pr(gh: LocalGitHub, world: World) -> PullRequest:
    await git("checkout", "-q", "-b", "feature", cwd=world.work)
    await commit(world.work, {"feature.txt": "new\n"}, "Add a feature")
    await gh.push(world.repo, world.work, "feature")
    return await gh.open_pull_request(world.repo, head="feature", title="A feature", body="Hi")


async def test_a_comment_on_a_pull_request(
    gh: LocalGitHub, world: World, receiver: WebhookReceiver
) -> None:
    pr = await feature_pr(gh, world)
    comment = await gh.comment(pr, "/conveyor run", author="mona", author_association="MEMBER")
    [delivery] = receiver.of("issue_comment", "created")
    assert delivery.signature_ok
    payload = delivery.payload
    assert payload["action"] == "created"
    assert payload["installation"]["id"] == world.installation_id
    assert payload["repository"]["full_name"] == "octo-org/hello"
    assert payload["sender"]["login"] == "mona"
    issue = payload["issue"]
    assert issue["number"] == pr.number
    assert issue["title"] == "A feature"
    assert issue["pull_request"]["url"] == f"{gh.url}{REPO}/pulls/{pr.number}"
    assert issue["pull_request"]["merged_at"] is None
    assert issue["html_url"] == f"{gh.url}/octo-org/hello/pull/{pr.number}"
    assert issue["id"] != pr.id  # the issue side has an id of its own
    assert issue["comments"] == 1
    assert issue["milestone"] is None
    assert issue["labels"] == []
    body = payload["comment"]
    assert body["id"] == comment.id
    assert body["body"] == "/conveyor run"
    assert body["user"]["login"] == "mona"
    assert body["author_association"] == "MEMBER"
    assert body["performed_via_github_app"] is None
    assert body["html_url"].endswith(f"/pull/{pr.number}#issuecomment-{comment.id}")
    assert "Codertocat" not in delivery.body.decode()
    assert [c.body for c in gh.comments(pr)] == ["/conveyor run"]


async def test_a_comment_on_an_issue_has_no_pull_request(
    gh: LocalGitHub, world: World, receiver: WebhookReceiver
) -> None:
    issue = await gh.open_issue(world.repo, "Broken")
    await gh.comment(issue, "me too", author_association="NONE")
    [delivery] = receiver.of("issue_comment", "created")
    assert "pull_request" not in delivery.payload["issue"]
    assert delivery.payload["issue"]["html_url"].endswith(f"/issues/{issue.number}")
    assert delivery.payload["comment"]["author_association"] == "NONE"
    pr = await feature_pr(gh, world)
    assert pr.number == issue.number + 1  # issues and pull requests share the numbers


async def test_only_subscribed_apps_that_read_issues_hear_comments(
    gh: LocalGitHub, world: World, receiver: WebhookReceiver
) -> None:
    pr = await feature_pr(gh, world)
    hearers = []
    for name, permissions, events in (
        ("unsubscribed", DEFAULT_PERMISSIONS, ("pull_request",)),
        (
            "no-issues",
            {k: v for k, v in DEFAULT_PERMISSIONS.items() if k != "issues"},
            ("issue_comment",),
        ),
        ("listener", DEFAULT_PERMISSIONS, ("issue_comment",)),
    ):
        hook = WebhookReceiver(SECRET)
        await hook.start()
        app = gh.register_app(
            name,
            webhook_url=hook.url,
            webhook_secret=SECRET,
            permissions=permissions,
            events=events,
        )
        await gh.install(app, account="octo-org", repositories=[world.repo])
        hearers.append(hook)
    try:
        await gh.comment(pr, "hello")
        assert [len(h.of("issue_comment")) for h in hearers] == [0, 0, 1]
        assert len(receiver.of("issue_comment")) == 1
    finally:
        for hook in hearers:
            await hook.stop()


async def test_comments_api_and_its_permissions(
    gh: LocalGitHub, world: World, api: GitHubAPI, token: str, receiver: WebhookReceiver
) -> None:
    pr = await feature_pr(gh, world)
    await gh.comment(pr, "first")
    listed = await api.getitem(f"{REPO}/issues/{pr.number}/comments", oauth_token=token)
    assert [c["body"] for c in listed] == ["first"]
    # An app that may only read may not write: replying needs Issues or Pull requests write.
    reader = gh.register_app("reader", permissions={**DEFAULT_PERMISSIONS, "pull_requests": "read"})
    reader_installation = await gh.install(reader, account="octo-org", repositories=[world.repo])
    reader_token = await installation_token(api, reader, reader_installation)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.post(
            f"{REPO}/issues/{pr.number}/comments", data={"body": "on it"}, oauth_token=reader_token
        )
    assert (caught.value.status_code, caught.value.args[0]) == (
        403,
        "Resource not accessible by integration",
    )

    writer = gh.register_app(
        "writer", permissions={**DEFAULT_PERMISSIONS, "pull_requests": "write"}
    )
    installation = await gh.install(writer, account="octo-org", repositories=[world.repo])
    writer_token = await installation_token(api, writer, installation)
    made = await api.post(
        f"{REPO}/issues/{pr.number}/comments", data={"body": "on it"}, oauth_token=writer_token
    )
    assert made["user"]["login"] == "writer[bot]"
    assert made["user"]["type"] == "Bot"
    assert made["performed_via_github_app"]["id"] == writer.id
    await gh.wait_idle()
    # The bot's own comment is an issue_comment too: apps must ignore their own.
    assert [r.payload["comment"]["body"] for r in receiver.of("issue_comment")] == [
        "first",
        "on it",
    ]

    # Pull requests write does not reach plain issues.
    issue = await gh.open_issue(world.repo, "Plain")
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.post(
            f"{REPO}/issues/{issue.number}/comments", data={"body": "x"}, oauth_token=writer_token
        )
    assert caught.value.status_code == 403
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.post(f"{REPO}/issues/{pr.number}/comments", data={}, oauth_token=writer_token)
    assert (caught.value.status_code, caught.value.args[0]) == (
        422,
        'Invalid request.\n\n"body" wasn\'t supplied.',
    )
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.getitem(f"{REPO}/issues/999/comments", oauth_token=token)
    assert caught.value.status_code == 404


async def test_permissions_change_only_once_accepted(
    gh: LocalGitHub, world: World, api: GitHubAPI
) -> None:
    wanted = {**DEFAULT_PERMISSIONS, "administration": "write"}
    gh.set_app_permissions(world.app, wanted)
    before = await installation_token(api, world.app, world.installation_id)
    with pytest.raises(gidgethub.BadRequest):
        await api.getitem(f"{REPO}/branches/main/protection", oauth_token=before)
    gh.accept_new_permissions(world.installation_id)
    after = await installation_token(api, world.app, world.installation_id)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.getitem(f"{REPO}/branches/main/protection", oauth_token=after)
    assert caught.value.args[0] == "Branch not protected"
