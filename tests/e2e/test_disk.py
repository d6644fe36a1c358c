"""Runs that write a lot leave the data folder as it was: their output folders and workspaces
go when the run ends, and their logs are capped (head and tail kept) on disk and in the
database."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import Harness, watched

LOG_LIMIT_KB = 64
WRITTEN_MB = 50  # into the output folder, and as much into the workspace
PRINTED_MB = 16  # of log, far past LOG_LIMIT_KB
# SQLite, whose database lives in the data folder this test measures; PostgreSQL's is not there
# (the log's cap in either database: tests/state/test_logs.py).
DATABASES = ("sqlite",)

PYPROJECT = """\
[tool.conveyor.checks.tests]
install = ["pip install pytest"]
run = ["python loud.py", "pytest -q"]
"""
# The output folder, wherever the sandbox shows it: pytest is told to write its report there.
LOUD = f"""\
import os
import re
import sys

out = re.search(r"--junitxml=(\\S+)/junit", os.environ["PYTEST_ADDOPTS"]).group(1)
block = b"x" * (1024 * 1024)
for folder in (out, "."):
    with open(os.path.join(folder, "big.bin"), "wb") as big:
        for _ in range({WRITTEN_MB}):
            big.write(block)
print("FIRST LINE")
line = "a line of output that goes on and on " * 2 + "\\n"
for n in range({PRINTED_MB} * 1024 * 1024 // len(line)):
    sys.stdout.write(line)
print("LAST LINE")
"""
TEST = "def test_one():\n    assert True\n"


@pytest.fixture
async def harness(
    github: LocalGitHub, tmp_path: Path, database_url: str | None, caches: Path
) -> AsyncIterator[Harness]:
    extra = {"LOG_LIMIT_KB": str(LOG_LIMIT_KB)}
    world = Harness(github, tmp_path, database_url, caches=caches)
    async with watched(world, extra_env=extra) as world:
        yield world


def size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


async def fetched(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()


async def test_runs_that_write_a_lot_leave_the_data_folder_bounded(harness: Harness) -> None:
    data_dir = harness.tmp / "data"
    sizes = []
    # Three runs, measured after the second and the third: SQLite's files reach their high-water
    # mark within one such run (the WAL's 1,000 pages, and the database's pages that the log's
    # cap frees and the next run reuses), but whether a checkpoint had moved them into the
    # database file before the first measurement is a matter of timing.
    for n in range(3):
        sha = harness.commit(
            {"pyproject.toml": PYPROJECT, "loud.py": LOUD, "test_one.py": TEST + f"# {n}\n"},
            f"run {n}",
        )
        await harness.push("main")
        [run] = await harness.completed(sha, timeout=120)
        assert run.conclusion == "success", run.output.summary
        sizes.append(size(data_dir))
        # Nothing of the run is left on disk: the page needs only the database.
        assert list(data_dir.glob("runs/*")) == []
        assert list(data_dir.glob("workspaces/*")) == []

    # The third run (its environment reused) wrote 100 MB and printed 16 MB: the data folder
    # grew by its database rows and the mirror's new commit.
    grown = sizes[2] - sizes[1]
    assert grown < 4 * 1024 * 1024, sizes
    assert run.details_url is not None
    raw = await fetched(f"{run.details_url}/log")
    assert "FIRST LINE" in raw
    [omitted] = re.findall(r"… (\d+) bytes omitted …", raw)
    assert int(omitted) > (PRINTED_MB - 1) * 1024 * 1024
    assert len(raw.encode()) <= LOG_LIMIT_KB * 1024 + 100
    assert raw.index("FIRST LINE") < raw.index("bytes omitted") < raw.index("LAST LINE")
    page = await fetched(run.details_url)
    assert f"… {omitted} bytes omitted …" in page
    assert "FIRST LINE" in page
    assert "LAST LINE" in page
