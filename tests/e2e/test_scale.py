"""Web and worker processes sharing one queue (`python -m app web` + `python -m app worker`), on
SQLite (one machine, one data folder) and PostgreSQL (each worker with a data folder of its own,
as on another machine)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import HELD, PASSING, SLOW, Harness, free_port, held, release, watched


@pytest.fixture
async def web(
    github: LocalGitHub, tmp_path: Path, database_url: str | None, caches: Path
) -> AsyncIterator[Harness]:
    """`python -m app web` alone: it answers webhooks and runs no tests; workers are added."""
    async with watched(Harness(github, tmp_path, database_url, caches=caches), "web") as world:
        yield world


async def test_worker_processes_run_what_the_web_process_queues(web: Harness) -> None:
    await web.add_worker()
    await web.add_worker()
    web.commit(PASSING, "calculator")
    first = await web.push("main")
    web.branch("feature")
    second = web.commit({"test_more.py": "def test_more():\n    assert True\n"}, "more")
    await web.push("feature")

    [one] = await web.completed(first)
    [two] = await web.completed(second)

    assert (one.conclusion, two.conclusion) == ("success", "success")
    assert "→ success" not in web.service.log()  # the web process ran nothing
    assert "→ success" in "".join(worker.log() for worker in web.workers)
    # The details page comes from the web process; the log from whichever worker ran it.
    assert one.details_url is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(one.details_url) as page:
            text = await page.text()
        async with session.get(f"{one.details_url}/log") as raw:
            log = await raw.text()
    assert page.status == 200
    assert "1 passed" in log, log
    assert "1 passed" in text


async def test_a_killed_worker_s_run_is_taken_over_by_another(web: Harness) -> None:
    doomed = await web.add_worker()
    sha = web.commit({**PASSING, **HELD}, "a held test")
    await web.push("main")
    workspace = await held(Path(doomed.env["DATA_DIR"]))
    await web.wait_for(sha, lambda runs: any(r.status == "in_progress" for r in runs))
    heir = await web.add_worker()  # idle until the other one dies

    doomed.kill()
    # With SQLite both workers have one data folder: the next attempt's start is the marker
    # coming back.
    (workspace / "started").unlink()
    release(await held(Path(heir.env["DATA_DIR"])))
    [run] = await web.completed(sha, timeout=90)

    assert run.conclusion == "success"
    assert [h["status"] for h in run.history] == [
        "queued",
        "in_progress",
        "queued",  # taken back from the dead worker
        "in_progress",
        "completed",
    ]
    assert run.history[2]["title"] == "Queued again"
    # The heir ran it: it logs the verdict once GitHub has it, so that line may come a moment
    # after the check run completed.
    deadline = time.monotonic() + 30
    while "→ success" not in web.workers[1].log():
        assert time.monotonic() < deadline, web.workers[1].log()[-3000:]
        await asyncio.sleep(0.1)


async def test_a_newer_commit_cancels_the_run_in_a_worker_process(web: Harness) -> None:
    await web.add_worker()
    old = web.commit({**PASSING, **SLOW}, "slow")
    await web.push("main")
    await web.wait_for(old, lambda runs: any(r.status == "in_progress" for r in runs))

    new = web.commit({"test_slow.py": "def test_fast():\n    pass\n"}, "fast again")
    await web.push("main")

    [cancelled] = await web.completed(old, timeout=30)
    [passed] = await web.completed(new)
    assert cancelled.conclusion == "cancelled"
    assert new in (cancelled.output.summary or "")
    assert passed.conclusion == "success"


async def test_a_worker_serves_its_own_metrics_and_the_web_the_queue_s(web: Harness) -> None:
    port = free_port()
    await web.add_worker(METRICS_PORT=str(port))
    sha = web.commit(PASSING, "calculator")
    await web.push("main")
    [run] = await web.completed(sha)
    assert run.conclusion == "success"

    async with aiohttp.ClientSession() as session:
        # The check run completes on GitHub before the worker has cleaned up and freed its slot.
        deadline = time.monotonic() + 30
        while True:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                worker_lines = set((await response.text()).splitlines())
            if 'conveyor_job_slots{state="idle"} 1.0' in worker_lines:
                break
            assert time.monotonic() < deadline, sorted(worker_lines)
            await asyncio.sleep(0.1)
        async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
            assert health.status == 200
        async with session.get(f"{web.service.url}/metrics") as response:
            web_lines = set((await response.text()).splitlines())
    # The worker moved the check run to in_progress and completed it; the web created it.
    assert 'conveyor_github_api_calls_total{method="PATCH",status="200"} 2.0' in worker_lines
    assert not any(
        line.startswith('conveyor_github_api_calls_total{method="PATCH"') for line in web_lines
    )
    # The queue's figures come from the web process alone, so a sum over scrapes is right.
    assert 'conveyor_jobs_finished_total{conclusion="success"} 1.0' in web_lines
    assert not any(line.startswith("conveyor_jobs") for line in worker_lines)
    # What to scale workers by: each worker's slots, busy and idle; the web process has none.
    assert 'conveyor_job_slots{state="idle"} 1.0' in worker_lines
    assert 'conveyor_job_slots{state="busy"} 0.0' in worker_lines
    assert not any(line.startswith("conveyor_job_slots") for line in web_lines)
