"""The SQLite database corrupt or unwritable: the start stops with one line that names the file,
and a running service's /healthz fails (503, with the reason) while the database cannot take a
write. (A corrupt file used to start, answer /healthz ok and fail every webhook with a 500; a
corrupt header stopped the start with a traceback.)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from app.localgithub import LocalGitHub
from tests.e2e.harness import PASSING, ROOT, Harness, watched

# Root may write anything: drop the capabilities that allow it (for the service only), so that
# file modes mean to it what they mean to the unprivileged user a service usually runs as.
AS_AN_ORDINARY_USER = (
    [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    ]
    if os.geteuid() == 0
    else []
)


@pytest.fixture
async def harness(github: LocalGitHub, tmp_path: Path, caches: Path) -> AsyncIterator[Harness]:
    """SQLite only: these faults are the file's."""
    async with watched(Harness(github, tmp_path, caches=caches)) as world:
        yield world


async def database_with_history(harness: Harness) -> Path:
    """The database file a real service made and used (a delivery, a job, a run), the service
    stopped (its write-ahead log checkpointed into the file)."""
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")
    await harness.completed(sha)
    harness.service.stop()
    database = harness.tmp / "data" / "conveyor.sqlite3"
    assert database.stat().st_size > 64 * 1024
    assert not Path(f"{database}-wal").exists()
    return database


def start_once(
    harness: Harness, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m app` with the harness's settings, to its end (it must stop by itself)."""
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "app"],
        cwd=ROOT,
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], database: Path, why: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "listening" not in result.stdout, result.stdout  # said only once the check is passed
    [line] = result.stderr.splitlines()
    assert line.startswith(f"conveyor: cannot start: {database}: "), line
    assert why in line, line


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(data)


async def test_corrupt_pages_stop_the_start_with_one_line(harness: Harness) -> None:
    database = await database_with_history(harness)
    size = database.stat().st_size
    overwrite(database, size // 2 - 8192, os.urandom(16384))

    result = start_once(harness)

    assert_one_line(result, database, "the database is corrupt (")
    assert "restore it from a backup" in result.stderr


async def test_a_corrupt_header_stops_the_start_with_one_line(harness: Harness) -> None:
    database = await database_with_history(harness)
    overwrite(database, 0, b"this is not an SQLite database!\x00" * 4)

    result = start_once(harness)

    assert_one_line(result, database, "the database is corrupt (file is not a database)")


@pytest.mark.parametrize("read_only", ["file", "folder"])
async def test_a_read_only_database_stops_the_start_with_one_line(
    harness: Harness, read_only: str
) -> None:
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("root ignores file modes, and setpriv is missing to drop that")
    database = await database_with_history(harness)
    target = database if read_only == "file" else database.parent
    mode = target.stat().st_mode
    target.chmod(0o555 if read_only == "folder" else 0o444)
    try:
        result = start_once(harness, AS_AN_ORDINARY_USER)
    finally:
        target.chmod(mode)

    assert_one_line(result, database, "cannot be written: attempt to write a readonly database")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs where the harness puts DATA_DIR: a disk the test can fill, then empty."""
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


async def healthz(harness: Harness) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{harness.service.url}/healthz") as response,
    ):
        answer: dict[str, object] = await response.json()
        return response.status, answer


async def wait_for_health(
    harness: Harness, status: int, timeout: float = 30.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        got, answer = await healthz(harness)
        if got == status:
            return answer
        assert time.monotonic() < deadline, (got, answer, harness.logs()[-4000:])
        await asyncio.sleep(0.1)


async def test_healthz_fails_while_the_database_cannot_be_written(
    small_disk: Path, harness: Harness
) -> None:
    assert (await healthz(harness))[0] == 200
    # Fill the disk that holds the database.
    filler = small_disk / "filler"
    with filler.open("wb") as out:
        os.posix_fallocate(out.fileno(), 0, shutil.disk_usage(small_disk).free)

    answer = await wait_for_health(harness, 503)

    assert answer["status"] == "failing"
    reason = str(answer["reason"])
    assert reason.startswith(f"{small_disk / 'conveyor.sqlite3'}: cannot be written: "), reason
    assert "full" in reason, reason
    # The disk emptied, the service is healthy again and takes a delivery.
    filler.unlink()
    await wait_for_health(harness, 200)
    sha = harness.commit(PASSING, "after the fault")
    await harness.push("main")
    await harness.wait_for(sha, lambda runs: len(runs) == 1)
