"""A run whose process is killed midway runs again after the restart: the second attempt's
results and log are its own, and its page says there was an earlier one."""

from __future__ import annotations

import aiohttp

from tests.e2e.harness import HELD, Harness, held, release

# Two tests; the second is HELD: the kill comes while the run is midway, for sure.
SUITE = {"test_a_quick.py": "def test_quick():\n    print('the quick test ran')\n", **HELD}


async def fetched(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()


async def test_killed_mid_run_the_second_attempt_reports_its_own_results_and_log(
    harness: Harness,
) -> None:
    data_dir = harness.tmp / "data"
    sha = harness.commit(SUITE, "two tests, one held")
    await harness.push("main")
    workspace = await held(data_dir)

    harness.service.kill()
    (workspace / "started").unlink()  # the next attempt's start is the marker coming back
    await harness.service.start()
    release(await held(data_dir))
    [run] = await harness.completed(sha, timeout=90)

    assert run.conclusion == "success", run.output.summary
    assert run.output.title == "2 tests passed"
    assert run.details_url is not None
    raw = await fetched(f"{run.details_url}/log")
    note = "Attempt 2: the first attempt stopped when its process was killed"
    # The second attempt's log, whole, and only it: one fetch, one run of the tests.
    assert raw.count(note) == 1
    assert raw.count("── Fetching") == 1
    assert "2 passed" in raw
    page = await fetched(run.details_url)
    assert note in page
    assert "2 passed" in page
    # Its folders are gone with the run.
    assert list(data_dir.glob("runs/*")) == []
    assert list(data_dir.glob("workspaces/*")) == []


async def test_killed_twice_the_failed_run_leaves_no_folders_behind(harness: Harness) -> None:
    data_dir = harness.tmp / "data"
    sha = harness.commit(SUITE, "two tests, one held")
    await harness.push("main")
    for _ in range(2):
        workspace = await held(data_dir)
        harness.service.kill()
        (workspace / "started").unlink()
        await harness.service.start()

    [run] = await harness.completed(sha, timeout=90)

    assert run.output.title == "Conveyor stopped while running these tests, twice"
    # What the killed process left (its workspace, its log) is gone once the run has ended.
    assert list(data_dir.glob("runs/*")) == []
    assert list(data_dir.glob("workspaces/*")) == []
