"""Check suites and runs as GitHub's JSON shows them (app/localgithub/json_checks.py): the
pull requests they list, the suite's summed-up conclusion, a run's output counts."""

from __future__ import annotations

from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, feature_pr, run

REPO = "/repos/octo-org/hello"


async def test_a_run_and_its_suite(
    api: GitHubAPI, gh: LocalGitHub, world: World, token: str
) -> None:
    pr = await feature_pr(gh, world)
    created = await run(
        api,
        token,
        pr.head_sha,
        conclusion="failure",
        output={
            "title": "1 failed",
            "summary": "test_mean",
            "annotations": [
                {
                    "path": "a.py",
                    "start_line": 1,
                    "end_line": 1,
                    "annotation_level": "failure",
                    "message": "boom",
                }
            ],
        },
    )
    got = await api.getitem(f"{REPO}/check-runs/{created['id']}", oauth_token=token)
    assert got["output"]["annotations_count"] == 1
    assert got["output"]["annotations_url"] == f"{gh.url}{REPO}/check-runs/{got['id']}/annotations"
    assert got["app"]["id"] == world.app.id
    [listed] = got["pull_requests"]
    assert (listed["number"], listed["head"]["sha"]) == (pr.number, pr.head_sha)
    suite = await api.getitem(f"{REPO}/check-suites/{got['check_suite']['id']}", oauth_token=token)
    assert (suite["status"], suite["conclusion"]) == ("completed", "failure")
    assert suite["head_sha"] == pr.head_sha
    assert suite["latest_check_runs_count"] == 1
    assert [p["number"] for p in suite["pull_requests"]] == [pr.number]
    assert suite["head_commit"]["id"] == pr.head_sha
