"""An app installed on a repository of the local GitHub, with the permissions a test gives it,
and a pull request to act on: what the tests of the GitHub calls share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from app.github.client import GitHubClient
from app.localgithub import LocalGitHub, PullRequest, Repository
from tests.localgithub.helpers import commit, git, new_worktree

Connect = Callable[[Mapping[str, str]], Awaitable[tuple[GitHubClient, int]]]


async def no_wait(_: float) -> None:
    return None


async def pull_request(github: LocalGitHub, repo: Repository, tmp: Path) -> PullRequest:
    work = await new_worktree(tmp / "work")
    await commit(work, {"README.md": "hi\n"}, "Initial")
    await github.push(repo, work, "main")
    await git("checkout", "-q", "-b", "feature", cwd=work)
    await commit(work, {"feature.txt": "new\n"}, "A feature")
    await github.push(repo, work, "feature")
    return await github.open_pull_request(repo, head="feature", title="A feature")
