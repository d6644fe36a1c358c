"""app/github/permissions.py against the local GitHub: who may write (GitHub's permission API).
(The reaction that answers a command: test_comments.py.)"""

from __future__ import annotations

import gidgethub
import pytest

from app.github.permissions import may_write
from app.localgithub import LocalGitHub, Repository
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.github.installed import Connect


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
