"""Hostile files in a repository: the service keeps answering while it plans the commit, and the
check ends with a verdict that names the file.

`/healthz` is asked again and again while the run is in progress, and must answer 200 each time
and many times over: a plan that ran on the event loop would hold every answer back for as long
as it took. (How fast it answers is tests/benchmarks/hostile_traffic.py's question.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp

from app.localgithub import CheckRun
from tests.e2e.harness import PASSING, Harness

# The database plays no part in planning hostile files off the event loop: SQLite only (the flow on
# PostgreSQL is in test_check_runs, test_recovery, test_reports and test_scale).
DATABASES = ("sqlite",)


@contextlib.asynccontextmanager
async def probed(harness: Harness) -> AsyncIterator[list[int]]:
    """`/healthz` asked in a loop while the block runs; yields the statuses answered so far. An
    answer that never comes fails the probe (aiohttp's own timeout), and with it the test."""
    answers: list[int] = []

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(f"{harness.service.url}/healthz") as response:
                    await response.read()
                    answers.append(response.status)
                await asyncio.sleep(0.02)

    task = asyncio.create_task(probe())
    try:
        yield answers
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def verdict_while_probing(harness: Harness, push: Callable[[], Awaitable[str]]) -> CheckRun:
    """The run's verdict, with `/healthz` answering 200 again and again while the run was in
    progress (planned and run), not only before and after it."""
    async with probed(harness) as answers:
        sha = await push()
        await harness.wait_for(sha, lambda runs: any(r.status == "in_progress" for r in runs))
        started = len(answers)
        [run] = await harness.completed(sha, timeout=120)
        during = answers[started:]
    assert len(during) >= 5, f"/healthz answered {len(during)} times while the run was in progress"
    assert set(answers) == {200}, answers
    return run


def alias_bomb() -> str:
    """The issue's 400-byte bomb (8 levels of 9 aliases), then comments up to just under the
    4 MiB a configuration may be: seconds of pure-Python parsing, even though the bomb itself
    is refused at its first line of aliases."""
    levels = ['&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        levels.append(f"&a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    head = "checks:\n  tests:\n    run: [" + ", ".join(levels) + "]\n"
    padding = "# " + "x" * 77 + "\n"
    return head + padding * ((4_000_000 - len(head)) // len(padding))


async def test_a_yaml_alias_bomb_leaves_the_service_answering(harness: Harness) -> None:
    harness.commit({".conveyor.yml": alias_bomb(), **PASSING}, "bomb")

    run = await verdict_while_probing(harness, lambda: harness.push("main"))

    assert run.conclusion == "failure", run.output
    assert run.output.title == "Configuration error"
    summary = run.output.summary or ""
    assert ".conveyor.yml:3: stands for more than 100000 values" in summary, summary
    assert "YAML alias bomb" in summary
    assert "inside Conveyor" not in summary


async def test_a_nul_and_a_huge_number_are_configuration_errors(harness: Harness) -> None:
    harness.commit(
        {".conveyor.yml": 'checks:\n  tests:\n    run: "pytest\\0 -q"\n', **PASSING}, "nul"
    )
    nul = await harness.push("main")
    [run] = await harness.completed(nul)
    assert run.output.title == "Configuration error", run.output
    summary = run.output.summary or ""
    assert ".conveyor.yml:3: `checks.tests.run` holds a NUL character" in summary, summary

    harness.commit(
        {".conveyor.yml": "checks:\n  tests:\n    run: pytest\n    timeout: " + "9" * 400 + "\n"},
        "huge",
    )
    huge = await harness.push("main")
    [run] = await harness.completed(huge)
    assert run.output.title == "Configuration error", run.output
    summary = run.output.summary or ""
    assert ".conveyor.yml:4: `checks.tests.timeout` is a number of 400 digits" in summary, summary
    assert "inside Conveyor" not in summary


async def test_test_files_linked_to_dev_zero_and_a_huge_file(harness: Harness) -> None:
    """Detection reads test files for their style: one is /dev/zero, one a 50 MB file."""
    tests = harness.work / "tests"
    tests.mkdir(parents=True)
    with (tests / "big.bin").open("wb") as big:
        big.truncate(50 * 1024 * 1024)  # zeros: git stores them in kilobytes
    os.symlink("/dev/zero", tests / "test_zero.py")
    os.symlink("big.bin", tests / "test_big.py")
    harness.commit({"tests/test_ok.py": "def test_ok():\n    assert True\n"}, "links")

    run = await verdict_while_probing(harness, lambda: harness.push("main"))

    # pytest itself trips over them (inside the sandbox, within its limits): the tests fail or
    # are stopped, and the service, which only read a bounded piece, says so.
    assert run.conclusion in ("failure", "timed_out"), run.output
    assert "Conveyor stopped" not in (run.output.title or "")
    assert "inside Conveyor" not in (run.output.summary or "")
    assert harness.service.process is not None
    assert harness.service.process.poll() is None
