"""A git server that accepts the connection and then says nothing: the job still ends in its time.

The local GitHub's git endpoint is made to hang with a fault (`inject_fault(..., delay=...)`): it
reads git's request and answers only after an hour. With JOB_TIMEOUT small, the check run of
the commit ends `timed_out` within it, git and its remote helper are gone, and the repository's
next commit, which waited for the mirror's lock meanwhile, is not held up for ever.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.localgithub import CheckRun, LocalGitHub
from tests.e2e.harness import PASSING, Harness, watched

# The database plays no part in a git server that hangs: SQLite only (the flow on PostgreSQL is in
# test_check_runs, test_recovery, test_reports and test_scale).
DATABASES = ("sqlite",)

JOB_TIMEOUT = 15
HOUR = 3600.0


@pytest.fixture
async def harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None, caches: Path
) -> AsyncIterator[Harness]:
    world = Harness(github, tmp_path, database_url, caches=caches)
    async with watched(world, extra_env={"JOB_TIMEOUT": str(JOB_TIMEOUT)}) as ready:
        yield ready


def _processes_naming(text: str, folder: Path) -> list[str]:
    """Command lines of the live processes that contain `text` and work in `folder` (this test's:
    other tests running at the same time fetch the same refs into their own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command and str(folder) in command and str(os.getpid()) != entry.name:
            found.append(command)
    return found


def _in_progress(runs: list[CheckRun]) -> bool:
    return any(r.status == "in_progress" for r in runs)


async def test_a_hanging_fetch_times_out_and_does_not_hold_up_the_next_commit(
    harness: Harness,
) -> None:
    github = harness.github
    # The first request git makes, for the branch list, is read and never answered.
    github.inject_fault("GET", r"^/octo-org/sample(\.git)?/info/refs$", 200, delay=HOUR)
    first = harness.commit(PASSING, "first")
    await harness.push("main")
    await harness.wait_for(first, _in_progress)
    # Another commit of the repository, on another branch (not superseding the first): its
    # job waits for the mirror, which the first job's fetch holds while it hangs.
    harness.branch("second")
    second = harness.commit({"second.txt": "two\n"}, "second")
    await harness.push("second")

    [hung] = await harness.completed(first, timeout=JOB_TIMEOUT + 30)

    assert hung.conclusion == "timed_out", hung.output
    assert hung.output.title == f"Could not fetch the commit: timed out after {JOB_TIMEOUT} s"
    summary = hung.output.summary or ""
    assert "git fetch" in summary, summary
    assert "JOB_TIMEOUT" in summary, summary
    # The hanging git fetch was killed (its remote helper with it, as its process group: the
    # unit tests see the server's connection closed). The second commit's fetch may be running.
    assert _processes_naming(":refs/conveyor/heads/main", harness.tmp) == []

    # The second commit ends too, within its own time: it either got the mirror when the
    # first let it go, or says what held it. Never in progress for ever.
    [queued_behind] = await harness.completed(second, timeout=JOB_TIMEOUT + 30)
    assert queued_behind.conclusion in ("success", "timed_out"), queued_behind.output

    # And the mirror is usable: a third commit fetches and passes.
    harness.branch("third")
    third = harness.commit({"third.txt": "three\n"}, "third")
    await harness.push("third")
    [after] = await harness.completed(third, timeout=JOB_TIMEOUT + 30)
    assert after.conclusion == "success", after.output
