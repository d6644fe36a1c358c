"""What a person sees (app/localgithub/render.py): format_check_run and the HTML pages."""

from __future__ import annotations

import aiohttp
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub, format_check_run
from tests.localgithub.conftest import World
from tests.localgithub.helpers import git

RUNS = "/repos/octo-org/hello/check-runs"


async def test_format_check_run(api: GitHubAPI, gh: LocalGitHub, world: World, token: str) -> None:
    run = await api.post(
        RUNS,
        data={
            "name": "conveyor / tests",
            "head_sha": world.sha,
            "conclusion": "failure",
            "details_url": "http://ci.example/runs/1",
            "output": {
                "title": "1 of 12 tests failed",
                "summary": "test_add_negative failed\n\nSee the annotations.",
                "annotations": [
                    {
                        "path": "test_calc.py",
                        "start_line": 9,
                        "end_line": 9,
                        "annotation_level": "failure",
                        "message": "assert -5 == -6",
                    }
                ],
            },
        },
        oauth_token=token,
    )
    text = format_check_run(gh.check_run(run["id"]))
    lines = text.splitlines()
    assert lines[0] == "✖ conveyor / tests — failure"
    assert "1 of 12 tests failed" in text
    assert "  test_add_negative failed" in lines
    assert "    test_calc.py:9  failure  assert -5 == -6" in lines
    assert "http://ci.example/runs/1" in text
    queued = await api.post(RUNS, data={"name": "lint", "head_sha": world.sha}, oauth_token=token)
    assert format_check_run(gh.check_run(queued["id"])).startswith("· lint — queued")


async def test_html_views(
    api: GitHubAPI, session: aiohttp.ClientSession, gh: LocalGitHub, world: World, token: str
) -> None:
    await git("checkout", "-q", "-b", "feature", cwd=world.work)
    await git("commit", "-q", "--allow-empty", "-m", "Empty", cwd=world.work)
    head = await gh.push(world.repo, world.work, "feature")
    pr = await gh.open_pull_request(world.repo, head="feature", title="Try <things>")
    run = await api.post(
        RUNS,
        data={
            "name": "tests",
            "head_sha": head,
            "conclusion": "success",
            "output": {"title": "All passed", "summary": "12 passed <b>"},
        },
        oauth_token=token,
    )
    async with session.get(f"{gh.url}/octo-org/hello/pull/{pr.number}") as response:
        assert response.status == 200
        page = await response.text()
        assert "Try &lt;things&gt;" in page
        assert "All passed" in page
        assert f"/octo-org/hello/runs/{run['id']}" in page
    async with session.get(f"{gh.url}/octo-org/hello/runs/{run['id']}") as response:
        page = await response.text()
        assert "12 passed &lt;b&gt;" in page
    async with session.get(f"{gh.url}/octo-org/hello/pull/99") as response:
        assert response.status == 404
    # Browsing is not part of the API traffic being checked.
    assert all(c.kind != "html" for c in gh.calls)
