"""Repositories as people make and change them (app/localgithub/steps_repos.py): names GitHub
refuses, installations on another account, forks, and the default branch kept."""

from __future__ import annotations

import pytest

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World
from tests.localgithub.helpers import git


async def test_repositories_github_would_refuse(gh: LocalGitHub, world: World) -> None:
    for name in ("has space", "..", "a/b"):
        with pytest.raises(ValueError, match="invalid repository name"):
            await gh.create_repository("octo-org", name)
    with pytest.raises(ValueError, match="already exists"):
        await gh.create_repository("Octo-Org", "HELLO")  # names are case-insensitive
    with pytest.raises(ValueError, match="is on octo-org, not mona"):
        await gh.create_repository("mona", "mine", installation_id=world.installation_id)
    with pytest.raises(ValueError, match="no installation 1"):
        await gh.create_repository("mona", "mine", installation_id=1)


async def test_a_fork_has_the_parents_history(gh: LocalGitHub, world: World) -> None:
    fork = await gh.fork(world.repo, "mona")
    assert (fork.full_name, fork.fork, fork.parent) == ("mona/hello", True, world.repo)
    assert fork.default_branch == "main"
    tip = (await git("rev-parse", "refs/heads/main", cwd=fork.bare_path)).stdout
    assert tip == world.sha
    with pytest.raises(ValueError, match="already exists"):
        await gh.fork(world.repo, "mona")


async def test_the_default_branch_cannot_be_deleted(gh: LocalGitHub, world: World) -> None:
    with pytest.raises(ValueError, match="default branch"):
        await gh.delete_branch(world.repo, "main")
    with pytest.raises(ValueError, match="has no branch 'nope'"):
        await gh.delete_branch(world.repo, "nope")
    # Pushing what the branch already holds sends nothing ("Everything up-to-date").
    before = len(gh.deliveries)
    assert await gh.push(world.repo, world.work) == world.sha
    assert len(gh.deliveries) == before
