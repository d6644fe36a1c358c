"""app/github/permissions.py and app/github/comments.py against the local GitHub: who may write
(GitHub's permission API), and the reaction that answers a command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import aiohttp
import gidgethub
import pytest

from app.github.client import GitHubClient, RetryPolicy
from app.github.comments import REFUSED, UNSURE, react
from app.github.permissions import may_write
from app.localgithub import LocalGitHub, PullRequest, Repository
from app.localgithub.local import DEFAULT_PERMISSIONS
from tests.localgithub.helpers import commit, git, new_worktree

Connect = Callable[[Mapping[str, str]], Awaitable[tuple[GitHubClient, int]]]


async def no_wait(_: float) -> None:
    return None


@pytest.fixture
async def repo(github: LocalGitHub) -> Repository:
    return await github.create_repository("octo-org", "hello")


@pytest.fixture
async def connect(github: LocalGitHub, repo: Repository, session: aiohttp.ClientSession) -> Connect:
    """A client of a new app with these permissions, installed on the repository."""
    made: list[Mapping[str, str]] = []

    async def make(permissions: Mapping[str, str]) -> tuple[GitHubClient, int]:
        assert github.url is not None
        made.append(permissions)
        app = github.register_app(f"app-{len(made)}", permissions=dict(permissions))
        installation = await github.install(app, account="octo-org", repositories=[repo])
        client = GitHubClient(
            session,
            api_url=github.url,
            app_id=str(app.id),
            private_key=app.private_key_pem,
            policy=RetryPolicy(attempts=1),
            sleep=no_wait,
        )
        return client, installation

    return make


async def pull_request(github: LocalGitHub, repo: Repository, tmp: Path) -> PullRequest:
    work = await new_worktree(tmp / "work")
    await commit(work, {"README.md": "hi\n"}, "Initial")
    await github.push(repo, work, "main")
    await git("checkout", "-q", "-b", "feature", cwd=work)
    await commit(work, {"feature.txt": "new\n"}, "A feature")
    await github.push(repo, work, "feature")
    return await github.open_pull_request(repo, head="feature", title="A feature")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("admin", True), ("maintain", True), ("write", True), ("triage", False), ("read", False)],
)
async def test_write_and_above_may_write(
    github: LocalGitHub, repo: Repository, connect: Connect, role: str, allowed: bool
) -> None:
    client, installation = await connect(DEFAULT_PERMISSIONS)
    github.add_collaborator(repo, "mona", role)
    assert await may_write(client, repo.full_name, installation, "mona") is allowed


async def test_someone_github_does_not_know_as_a_collaborator_may_not(
    repo: Repository, connect: Connect
) -> None:
    client, installation = await connect(DEFAULT_PERMISSIONS)
    assert await may_write(client, repo.full_name, installation, "stranger") is False


async def test_a_refusal_other_than_404_is_raised(repo: Repository, connect: Connect) -> None:
    client, installation = await connect({"checks": "write"})  # no Metadata read
    with pytest.raises(gidgethub.BadRequest) as caught:
        await may_write(client, repo.full_name, installation, "mona")
    assert caught.value.status_code == 403


async def test_a_reaction_answers_a_comment_when_the_app_may(
    github: LocalGitHub, repo: Repository, connect: Connect, tmp_path: Path
) -> None:
    pr = await pull_request(github, repo, tmp_path)
    comment = await github.comment(pr, "/conveyor run", author="mona")
    client, installation = await connect(DEFAULT_PERMISSIONS)
    assert await react(client, repo.full_name, installation, comment.id, REFUSED)
    assert await react(client, repo.full_name, installation, comment.id, REFUSED)  # again: 200
    assert await react(client, repo.full_name, installation, comment.id, UNSURE)
    bot = github.reactions(comment)[0][1]
    assert github.reactions(comment) == [("-1", bot), ("confused", bot)]

    reader, read_only = await connect({**DEFAULT_PERMISSIONS, "pull_requests": "read"})
    assert not await react(reader, repo.full_name, read_only, comment.id, REFUSED)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await react(client, repo.full_name, installation, 1, REFUSED)
    assert caught.value.status_code == 404
