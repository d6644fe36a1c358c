"""app/github/comments.py against the local GitHub: the reaction that answers a command."""

from __future__ import annotations

from pathlib import Path

import gidgethub
import pytest

from app.github.comments import REFUSED, UNSURE, react
from app.localgithub import LocalGitHub, Repository
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.github.installed import Connect, pull_request


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
