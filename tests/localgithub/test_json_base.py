"""What the JSON builders share (app/localgithub/json_base.py): GitHub's legacy node ids,
GitHub's example payloads as templates, and URLs at the address the emulator is served at."""

from __future__ import annotations

import base64

from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from app.localgithub.json_base import node_id, template
from tests.localgithub.conftest import World, run

REPO = "/repos/octo-org/hello"


def test_node_ids_are_githubs_legacy_ones() -> None:
    assert base64.b64decode(node_id("CheckRun", 42)).decode() == "08:CheckRun42"


def test_each_template_is_a_fresh_copy() -> None:
    first = template("ping")
    first["zen"] = "changed"
    assert template("ping")["zen"] != "changed"


async def test_objects_carry_node_ids_and_the_emulators_urls(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    created = await run(api, token, world.sha, conclusion="success")
    assert created["node_id"] == node_id("CheckRun", created["id"])
    assert created["url"] == f"{gh.url}{REPO}/check-runs/{created['id']}"
    repo = await api.getitem(REPO, oauth_token=token)
    assert repo["node_id"] == node_id("Repository", world.repo.id)
    assert repo["url"] == f"{gh.url}{REPO}"
    assert "api.github.com" not in str(repo)
