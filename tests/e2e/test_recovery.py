"""Nothing is lost: GitHub failing, the service killed, a job outliving its worker."""

from __future__ import annotations

import pytest

from app.state import State
from app.state.database import open_database
from tests.e2e.harness import HELD, PASSING, Harness, held, release

BRIEF = {"test_brief.py": "import time\n\n\ndef test_brief():\n    time.sleep(3)\n"}


@pytest.mark.databases("sqlite")  # the GitHub client's retries
async def test_github_500s_are_retried_and_the_run_completes(harness: Harness) -> None:
    harness.github.inject_fault("POST", r"/check-runs$", 500, times=2)
    harness.github.inject_fault("PATCH", r"/check-runs/\d+$", 502, times=2)
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")

    [run] = await harness.completed(sha)

    assert run.conclusion == "success"
    injected = [c for c in harness.github.calls if c.fault_injected]
    assert [c.status for c in injected] == [500, 500, 502, 502]


@pytest.mark.databases("sqlite")  # the GitHub client's retries
async def test_secondary_rate_limit_with_retry_after_is_honoured(harness: Harness) -> None:
    harness.github.inject_fault(
        "POST",
        r"/check-runs$",
        403,
        headers={"Retry-After": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")

    [run] = await harness.completed(sha)

    assert run.conclusion == "success"
    [limited] = [c for c in harness.github.calls if c.fault_injected]
    retried = [
        c for c in harness.github.calls if c.method == "POST" and c.path.endswith("/check-runs")
    ]
    assert retried[-1].status == 201
    assert (retried[-1].started_at - limited.started_at).total_seconds() >= 1.0


async def test_killed_mid_run_the_run_starts_again_after_restart(harness: Harness) -> None:
    data = harness.tmp / "data"
    sha = harness.commit({**PASSING, **HELD}, "a held test")
    await harness.push("main")
    workspace = await held(data)
    await harness.wait_for(sha, lambda runs: any(r.status == "in_progress" for r in runs))

    harness.service.kill()
    (workspace / "started").unlink()  # the next attempt's start is the marker coming back
    await harness.service.start()
    release(await held(data))
    [run] = await harness.completed(sha, timeout=60)

    assert run.conclusion == "success"
    assert [h["status"] for h in run.history] == [
        "queued",
        "in_progress",
        "queued",  # the restarted service takes the job back
        "in_progress",
        "completed",
    ]
    assert [h["title"] for h in run.history][2] == "Queued again"


async def test_killed_twice_mid_run_the_run_fails_with_the_reason(harness: Harness) -> None:
    sha = harness.commit({**PASSING, **BRIEF}, "a brief test")
    await harness.push("main")
    for _ in range(2):
        await harness.wait_for(
            sha, lambda runs: runs[-1].history[-1]["status"] == "in_progress" if runs else False
        )
        harness.service.kill()
        await harness.service.start()

    [run] = await harness.completed(sha, timeout=30)

    assert run.conclusion == "failure"
    assert run.output.title == "Conveyor stopped while running these tests, twice"


async def test_a_delivery_stored_but_not_processed_is_processed_after_restart(
    harness: Harness,
) -> None:
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")
    await harness.completed(sha)
    harness.service.stop()
    # As if the process died between answering 202 and acting on the delivery:
    state = State.on(open_database(harness.database_url, harness.tmp / "data"))
    state.db.execute("UPDATE deliveries SET processed_at = NULL")
    state.db.execute("DELETE FROM jobs")
    state.close()

    await harness.service.start()
    runs = await harness.completed(sha, count=2)

    assert [r.conclusion for r in runs] == ["success", "success"]
