"""app/github/pulls.py against the local GitHub: a pull request read by its number, in the shape
of the webhooks' `pull_request`."""

from __future__ import annotations

from pathlib import Path

import gidgethub
import pytest

from app.github.pulls import get_pull_request
from app.localgithub import LocalGitHub, Repository
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.github.installed import Connect, pull_request


async def test_a_pull_request_is_read_by_its_number(
    github: LocalGitHub, repo: Repository, connect: Connect, tmp_path: Path
) -> None:
    pr = await pull_request(github, repo, tmp_path)
    client, installation = await connect(DEFAULT_PERMISSIONS)
    data = await get_pull_request(client, repo.full_name, installation, pr.number)
    assert data["number"] == pr.number
    assert data["state"] == "open"
    assert data["title"] == "A feature"
    assert data["head"]["sha"] == pr.head_sha
    assert data["head"]["ref"] == "feature"
    assert data["base"]["ref"] == "main"
    assert data["base"]["repo"]["full_name"] == repo.full_name


async def test_a_number_github_does_not_have_is_its_404(
    github: LocalGitHub, repo: Repository, connect: Connect, tmp_path: Path
) -> None:
    pr = await pull_request(github, repo, tmp_path)
    client, installation = await connect(DEFAULT_PERMISSIONS)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await get_pull_request(client, repo.full_name, installation, pr.number + 1)
    assert caught.value.status_code == 404


async def test_without_pull_requests_read_github_refuses(
    github: LocalGitHub, repo: Repository, connect: Connect, tmp_path: Path
) -> None:
    pr = await pull_request(github, repo, tmp_path)
    without = {k: v for k, v in DEFAULT_PERMISSIONS.items() if k != "pull_requests"}
    client, installation = await connect(without)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await get_pull_request(client, repo.full_name, installation, pr.number)
    assert caught.value.status_code == 403


async def test_a_repository_name_without_its_owner_is_refused(connect: Connect) -> None:
    client, installation = await connect(DEFAULT_PERMISSIONS)
    with pytest.raises(ValueError, match="not enough values"):
        await get_pull_request(client, "hello", installation, 1)
