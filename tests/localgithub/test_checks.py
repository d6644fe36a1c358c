"""The Checks API: GitHub's validation (and gidgethub raising on it), the run lifecycle,
annotations, listing, and the webhooks around check runs (the buttons: test_steps_checks.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, installation_token
from tests.localgithub.helpers import WebhookReceiver, git

RUNS = "/repos/octo-org/hello/check-runs"


def note(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "path": "src/app.py",
        "start_line": n,
        "end_line": n,
        "annotation_level": "warning",
        "message": f"problem {n}",
        **extra,
    }


def output(**extra: Any) -> dict[str, Any]:
    return {"title": "Tests", "summary": "All good", **extra}


async def test_unknown_fields_are_ignored(api: GitHubAPI, world: World, token: str) -> None:
    run = await api.post(
        RUNS, data={"name": "tests", "head_sha": world.sha, "colour": "teal"}, oauth_token=token
    )
    assert run["status"] == "queued"


async def test_created_run_joins_the_pushs_suite_and_is_announced(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    [requested] = receiver.of("check_suite", "requested")
    run = await api.post(
        RUNS,
        data={"name": "tests", "head_sha": world.sha, "external_id": "job-1"},
        oauth_token=token,
    )
    assert run["status"] == "queued"
    assert run["conclusion"] is None
    assert run["started_at"].endswith("Z")
    assert run["app"]["id"] == world.app.id
    assert run["check_suite"] == {"id": requested.payload["check_suite"]["id"]}
    assert run["details_url"] == "https://conveyor.example"
    assert run["external_id"] == "job-1"
    await gh.wait_idle()
    [created] = receiver.of("check_run", "created")
    assert created.signature_ok
    assert created.payload["check_run"]["id"] == run["id"]
    assert created.payload["check_run"]["app"]["id"] == world.app.id
    assert created.payload["check_run"]["check_suite"]["head_branch"] == "main"
    assert created.payload["sender"]["type"] == "Bot"
    assert created.payload["installation"]["id"] == world.installation_id


async def test_lifecycle_history_and_completion_webhooks(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    run = await api.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    url = f"{RUNS}/{run['id']}"
    await api.patch(url, data={"status": "in_progress"}, oauth_token=token)
    done = await api.patch(
        url,
        data={"conclusion": "failure", "output": output(title="1 failed", annotations=[note()])},
        oauth_token=token,
    )
    assert done["status"] == "completed"
    assert done["completed_at"] is not None
    assert done["output"]["annotations_count"] == 1
    await gh.wait_idle()
    assert [r.payload["check_run"]["status"] for r in receiver.of("check_run")] == [
        "queued",
        "completed",
    ]
    [suite_done] = receiver.of("check_suite", "completed")
    assert suite_done.payload["check_suite"]["conclusion"] == "failure"
    history = gh.check_run(run["id"]).history
    assert [(h["action"], h["status"], h["conclusion"]) for h in history] == [
        ("created", "queued", None),
        ("updated", "in_progress", None),
        ("updated", "completed", "failure"),
    ]
    assert [h["annotations_added"] for h in history] == [0, 0, 1]
    assert history[-1]["title"] == "1 failed"


async def test_run_created_completed_sends_both_webhooks(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    run = await api.post(
        RUNS,
        data={"name": "lint", "head_sha": world.sha, "conclusion": "success"},
        oauth_token=token,
    )
    assert run["status"] == "completed"
    await gh.wait_idle()
    assert [r.action for r in receiver.of("check_run")] == ["created", "completed"]


async def test_annotations_accumulate_and_paginate(
    api: GitHubAPI, session: aiohttp.ClientSession, gh: LocalGitHub, world: World, token: str
) -> None:
    run = await api.post(
        RUNS,
        data={
            "name": "lint",
            "head_sha": world.sha,
            "output": output(annotations=[note(n) for n in range(1, 51)]),
        },
        oauth_token=token,
    )
    url = f"{RUNS}/{run['id']}"
    await api.patch(
        url,
        data={"output": output(annotations=[note(n) for n in range(51, 101)])},
        oauth_token=token,
    )
    # A completed run can still be updated; its annotations keep growing.
    await api.patch(url, data={"conclusion": "neutral"}, oauth_token=token)
    final = await api.patch(
        url,
        data={"output": output(summary="more", annotations=[note(n) for n in range(101, 121)])},
        oauth_token=token,
    )
    assert final["output"]["annotations_count"] == 120
    assert final["conclusion"] == "neutral"
    assert len(gh.check_run(run["id"]).annotations) == 120

    listed = [a async for a in api.getiter(f"{url}/annotations", oauth_token=token)]
    assert [a["start_line"] for a in listed] == list(range(1, 121))
    assert listed[0]["blob_href"].endswith(f"/blob/{world.sha}/src/app.py")

    headers = {"Authorization": f"token {token}"}
    async with session.get(f"{gh.url}{url}/annotations", headers=headers) as response:
        assert len(await response.json()) == 30
        assert 'rel="next"' in response.headers["Link"]
        assert "page=4" in response.headers["Link"]
    async with session.get(
        f"{gh.url}{url}/annotations?per_page=500&page=2", headers=headers
    ) as response:
        page = await response.json()
        assert [a["start_line"] for a in page] == list(range(101, 121))
        assert 'rel="prev"' in response.headers["Link"]


async def test_only_the_creating_app_may_update(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    run = await api.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    other = gh.register_app(name="other-ci", webhook_url=receiver.url, webhook_secret="x")
    # The same repository, through the other app's installation.
    other_installation = await gh.install(other, "octo-org", repositories=[world.repo])
    other_token = await installation_token(api, other, other_installation)
    with pytest.raises(gidgethub.BadRequest) as caught:
        await api.patch(
            f"{RUNS}/{run['id']}", data={"status": "in_progress"}, oauth_token=other_token
        )
    assert caught.value.status_code == 403
    assert "can only be modified by the GitHub App that created it" in str(caught.value)
    # Reading is fine for any app with checks permission.
    assert (await api.getitem(f"{RUNS}/{run['id']}", oauth_token=other_token))["id"] == run["id"]


async def test_unknown_run_and_run_of_another_repository(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    run = await api.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    await gh.create_repository("octo-org", "second", installation_id=world.installation_id)
    for url in (f"{RUNS}/999", f"/repos/octo-org/second/check-runs/{run['id']}"):
        with pytest.raises(gidgethub.BadRequest) as caught:
            await api.patch(url, data={"status": "in_progress"}, oauth_token=token)
        assert caught.value.status_code == 404


async def test_listing_runs_for_a_ref(api: GitHubAPI, world: World, token: str) -> None:
    first = await api.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    second = await api.post(
        RUNS,
        data={"name": "tests", "head_sha": world.sha, "status": "in_progress"},
        oauth_token=token,
    )
    await api.post(
        RUNS,
        data={"name": "lint", "head_sha": world.sha, "conclusion": "success"},
        oauth_token=token,
    )
    base = "/repos/octo-org/hello/commits"
    by_sha = await api.getitem(f"{base}/{world.sha}/check-runs", oauth_token=token)
    by_branch = await api.getitem(f"{base}/main/check-runs", oauth_token=token)
    assert by_sha == by_branch
    # Only the newest run of each name, unless filter=all.
    assert by_sha["total_count"] == 2
    assert {r["id"] for r in by_sha["check_runs"]} >= {second["id"]}
    everything = await api.getitem(f"{base}/main/check-runs?filter=all", oauth_token=token)
    assert everything["total_count"] == 3
    assert first["id"] in {r["id"] for r in everything["check_runs"]}
    named = await api.getitem(f"{base}/main/check-runs?check_name=lint", oauth_token=token)
    assert [r["name"] for r in named["check_runs"]] == ["lint"]
    done = await api.getitem(f"{base}/main/check-runs?status=completed", oauth_token=token)
    assert [r["name"] for r in done["check_runs"]] == ["lint"]
    suites = await api.getitem(f"{base}/main/check-suites", oauth_token=token)
    assert suites["total_count"] == 1
    assert suites["check_suites"][0]["status"] == "in_progress"
    assert suites["check_suites"][0]["app"]["id"] == world.app.id
    with pytest.raises(gidgethub.InvalidField) as caught:
        await api.getitem(f"{base}/no-such-branch/check-runs", oauth_token=token)
    assert str(caught.value) == "No commit found for SHA: no-such-branch"


async def test_rerequest_through_the_api(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str, receiver: WebhookReceiver
) -> None:
    run = await api.post(
        RUNS,
        data={"name": "tests", "head_sha": world.sha, "conclusion": "failure"},
        oauth_token=token,
    )
    await api.post(f"{RUNS}/{run['id']}/rerequest", data={}, oauth_token=token)
    await gh.wait_idle()
    [rerequested] = receiver.of("check_run", "rerequested")
    assert rerequested.payload["check_run"]["id"] == run["id"]
    # The suite is queued again; the run itself is unchanged until the app updates it.
    assert rerequested.payload["check_run"]["check_suite"]["status"] == "queued"
    assert rerequested.payload["check_run"]["conclusion"] == "failure"


async def test_concurrent_creates_share_one_suite(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    # A commit that no push has given a suite yet.
    await git("checkout", "-q", "-b", "side", cwd=world.work)
    await git("commit", "-q", "--allow-empty", "-m", "side", cwd=world.work)
    sha = (await git("rev-parse", "HEAD", cwd=world.work)).stdout
    await gh.push(world.repo, world.work, "side")
    other = await gh.create_repository("octo-org", "other", installation_id=world.installation_id)
    await git("push", "-q", str(other.bare_path), "HEAD:refs/heads/main", cwd=world.work)
    runs = await asyncio.gather(
        *(
            api.post(
                "/repos/octo-org/other/check-runs",
                data={"name": f"job {n}", "head_sha": sha},
                oauth_token=token,
            )
            for n in range(5)
        )
    )
    assert len({run["check_suite"]["id"] for run in runs}) == 1
