"""GitHub's limits and its final answers, through the real service (issue 10, findings 1 and 2).

- A log full of multibyte characters and a test whose name and message are 100 kB: every
  request fits GitHub's byte limits, and the check run completes.
- GitHub refusing the verdict (422) of a real run: a short verdict is posted once.
- The check run gone (404) while it runs: its verdict gets the 404, and reporting ends.

That later sweeps send nothing again after either answer is tested in process, sweep by sweep
(tests/test_sweeper.py; the reporter's side in tests/test_reporter.py), on both databases.
What is left here happens between the worker, the reporter and GitHub: SQLite only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from app.localgithub import CheckRun
from app.localgithub.models import CallRecord
from tests.e2e.harness import HELD, PASSING, Harness, held, release

DATABASES = ("sqlite",)

PATCH_RUN = r"/check-runs/\d+$"
WIDE = "é€测试"  # 2 + 3 + 3 + 3 bytes: 11 bytes in 4 characters
BIG = WIDE * 10_000  # 40 000 characters, 110 000 bytes
# A test's name of 100 kB: a function name (pytest would escape a parametrized id to ASCII),
# so without the €, which Python does not take in a name.
NAME = "test_" + "é测试" * 12_500  # 37 505 characters, 100 005 bytes
LOUD = {
    "test_loud.py": f"BIG = {WIDE!r} * 10_000\n\n\ndef {NAME}():\n    assert 1 == 2, BIG\n",
    # The log's end is 400 kB of short lines of WIDE, printed once pytest is done (its own
    # last line names the failing test, whole: one line of 100 kB).
    "conftest.py": (
        "def pytest_unconfigure(config):\n"
        "    for i in range(10_000):\n"
        f"        print(f'{{i}} ' + {WIDE!r} * 3)\n"
    ),
    **PASSING,
}
# Held in progress until the fault for its verdict is set (HELD, then `release`).
WAITING = {**HELD, **PASSING}


async def test_a_multibyte_log_and_a_100_kb_test_name_complete_within_githubs_limits(
    harness: Harness,
) -> None:
    sha = harness.commit(LOUD, "loud tests")
    await harness.push("main")

    [run] = await harness.completed(sha, timeout=180)

    assert harness.github.refused() == []
    assert run.conclusion == "failure", run.output
    assert run.output.title == "1 test failed"
    summary, text = run.output.summary or "", run.output.text or ""
    assert len(summary.encode()) <= 65535
    assert len(text.encode()) <= 65535
    assert "é测试" * 1000 in summary  # the name, as much of it as fits
    assert "cut to fit GitHub's limit" in summary
    # The end of the log, which says what went wrong, with a note that its beginning is not here.
    assert "earlier output omitted" in text
    log = text.rsplit("```", 2)[-2]
    assert log.rstrip("\n").endswith(f"\n9999 {WIDE * 3}")
    patches = [(c.status, c.request_json.get("status")) for c in patches_of(harness, run)]
    loud = [a for a in run.annotations if a.path == "test_loud.py"]
    assert len(loud) == 1, (
        patches,
        [(a.path, a.start_line, a.message[:80]) for a in loud],
        harness.service.log()[-3000:],
    )
    [annotation] = loud
    assert len(annotation.message.encode()) <= 65535
    assert WIDE * 100 in annotation.message
    assert len(annotation.title or "") <= 255


async def test_a_refused_verdict_is_replaced_by_a_short_one(
    harness: Harness,
) -> None:
    sha = harness.commit(WAITING, "a test that waits")
    await harness.push("main")
    workspace = await held(harness.tmp / "data")
    [run] = await harness.wait_for(sha, lambda runs: any(r.status == "in_progress" for r in runs))
    harness.github.inject_fault(
        "PATCH",
        PATCH_RUN,
        422,
        body={
            "message": "Validation Failed",
            "errors": [{"resource": "CheckRun", "code": "custom", "field": "text"}],
        },
    )
    release(workspace)

    [run] = await harness.completed(sha)

    assert run.conclusion == "success"
    assert run.output.title == "Success: see the report on Conveyor"
    assert run.details_url is not None
    assert run.details_url in (run.output.summary or "")
    assert [c.status for c in patches_of(harness, run)] == [200, 422, 200]
    await until_logged(harness, "GitHub refused its verdict")
    assert harness.service.log().count("GitHub refused its verdict") == 1


async def test_a_check_run_gone_ends_its_reporting(harness: Harness) -> None:
    sha = harness.commit(WAITING, "a test that waits")
    await harness.push("main")
    workspace = await held(harness.tmp / "data")
    [run] = await harness.wait_for(sha, lambda runs: any(r.status == "in_progress" for r in runs))
    # Gone for good: every update of it is answered 404 from now on.
    harness.github.inject_fault(
        "PATCH", rf"/check-runs/{run.id}$", 404, times=1000, body={"message": "Not Found"}
    )
    release(workspace)

    await _until(
        lambda: [c.status for c in patches_of(harness, run)] == [200, 404],
        90,
        "the verdict answered 404",
        harness,
    )
    await until_logged(harness, "its check run or repository is gone")


def patches_of(harness: Harness, run: CheckRun) -> list[CallRecord]:
    return [
        c
        for c in harness.github.calls
        if c.method == "PATCH" and c.path.endswith(f"/check-runs/{run.id}")
    ]


async def until_logged(harness: Harness, text: str, timeout: float = 90.0) -> None:
    await _until(lambda: text in harness.service.log(), timeout, f"{text!r} in the log", harness)


async def _until(done: Callable[[], bool], timeout: float, what: str, harness: Harness) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never saw {what}\n{harness.logs()[-6000:]}")
