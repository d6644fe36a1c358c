"""How fast the service answers webhooks and shows a `queued` check run.

Run by hand: `.venv/bin/python tests/benchmarks/webhooks.py [--events N]`.

It starts the local GitHub, the real service process (`python -m app`) and, as the baseline, a
bare aiohttp server that answers 202 and does nothing else. It then sends N signed `push`
deliveries, one at a time, each for a new commit on its own branch, and prints side by side:

- answer time: from sending the webhook to the HTTP answer (GitHub waits at most 10 s);
- webhook → queued: from sending the webhook to the local GitHub receiving the POST that creates
  the `queued` check run for that commit (the check appears on the pull request at that moment);
- the local GitHub's own time to create a check run, called directly: the floor for the above.

Then, on PostgreSQL (`web` and `worker` processes), the same answers while another process
holds the repository's job lock in cycles of `--hold` seconds, as a process adding a job for
the same repository does: each delivery's intake waits for that lock. Only intake should wait;
the answers should not (the database calls are off the event loop: one waiting call must not
stall the process). The baseline is what the answers were before: run this file from a git
worktree of an earlier commit (`git worktree add /tmp/before <commit>`, copy this file there)
and it measures that commit's service the same way.

Targets on a 2-core machine: answer median under 5 ms; queued median under 50 ms with a cached
installation token (the first delivery fetches the token and is reported apart); answers under
the held lock within a few ms of the quiet ones.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.localgithub import LocalGitHub  # noqa: E402
from tests.e2e.harness import PASSING, Harness, free_port, git  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

BASELINE_SERVER = """
import sys
from aiohttp import web
async def hook(request):
    await request.read()
    return web.json_response({"status": "accepted"}, status=202)
app = web.Application()
app.router.add_post("/webhook", hook)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def figures(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ms)})"


async def main(events: int, hold: float) -> None:
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        github = LocalGitHub(root / "github")
        await github.start()
        harness = Harness(github, root)
        await harness.setup(workers=1)
        harness.commit(PASSING, "calculator")
        await harness.push("main")
        await harness.completed(git(harness.work, "rev-parse", "HEAD"))

        # Commits to test, pushed while the app's webhook points nowhere: their deliveries are
        # then sent one at a time, under the clock.
        github.set_webhook_url(harness.app, f"http://127.0.0.1:{free_port()}/webhook")
        for n in range(events + 1):
            harness.branch(f"bench-{n}")
            harness.commit({f"bench_{n}.py": f"N = {n}\n"}, f"bench {n}")
            await harness.push(f"bench-{n}")
        pushes = [d for d in github.deliveries if d.event == "push"][-(events + 1) :]

        baseline_port = free_port()
        baseline = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock
            [sys.executable, "-c", BASELINE_SERVER, str(baseline_port)]
        )
        try:
            await _wait_up(f"http://127.0.0.1:{baseline_port}/webhook")
            github.set_webhook_url(harness.app, f"http://127.0.0.1:{baseline_port}/webhook")
            floor = [
                (await github.send_webhook(harness.app, "push", d.payload())).elapsed
                for d in pushes
            ]
        finally:
            baseline.terminate()
            baseline.wait()

        github.set_webhook_url(harness.app, f"{harness.service.url}/webhook")
        # A fresh process: the first delivery pays for the installation token, the rest do not.
        harness.service.stop()
        await harness.service.start()
        answers: list[float] = []
        queued: list[float] = []
        first_queued = 0.0
        for index, delivery in enumerate(pushes):
            payload = delivery.payload()
            sha = payload["after"]
            sent = datetime.now(UTC)
            answer = await github.send_webhook(harness.app, "push", payload)
            assert answer.status == 202, answer.status
            created = await _created_at(github, sha)
            delay = (created - sent).total_seconds()
            if index == 0:
                first_queued = delay  # includes fetching the installation token
            else:
                answers.append(answer.elapsed)
                queued.append(delay)
            await asyncio.sleep(0.02)

        direct = await _direct_create(github, harness)
        harness.service.stop()
        await github.stop()

    print(f"webhook answer time, Conveyor        {figures(answers)}")
    print(f"webhook answer time, bare aiohttp    {figures(floor)}")
    print(f"webhook -> queued check run (cached) {figures(queued)}")
    print(f"webhook -> queued, first (new token) {first_queued * 1000:7.2f} ms")
    print(f"local GitHub: create a check run     {figures(direct)}")
    quiet, locked = await under_lock(events, hold)
    print(f"PostgreSQL web + worker, quiet       {figures(quiet)}")
    print(f"  ... another process holds the lock {figures(locked)}   ({hold:.1f} s at a time)")


async def under_lock(events: int, hold: float) -> tuple[list[float], list[float]]:
    """Answer times on PostgreSQL (web + worker), quiet and then while another process holds
    the repository's job lock in cycles of `hold` seconds."""
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-lock-") as tmp:
        root = Path(tmp)
        # Its own folder, as in scale.py: PostgreSQL runs as another user, who must reach it.
        pg_root = Path(tempfile.mkdtemp(prefix="conveyor-bench-pg-"))
        server = PostgresServer.start(pg_root)
        try:
            url = server.create_database(f"bench_{uuid.uuid4().hex}")
            github = LocalGitHub(root / "github")
            await github.start()
            harness = Harness(github, root, database_url=url)
            try:
                await harness.setup(workers=1, command="web")
                await harness.add_worker(workers=1)
                harness.commit(PASSING, "calculator")
                await harness.push("main")
                await harness.completed(git(harness.work, "rev-parse", "HEAD"))
                github.set_webhook_url(harness.app, f"http://127.0.0.1:{free_port()}/webhook")
                for n in range(2 * events):
                    harness.branch(f"lock-{n}")
                    harness.commit({f"lock_{n}.py": f"N = {n}\n"}, f"lock {n}")
                    await harness.push(f"lock-{n}")
                pushes = [d for d in github.deliveries if d.event == "push"][-2 * events :]
                github.set_webhook_url(harness.app, f"{harness.service.url}/webhook")
                quiet = await _answers(github, harness, pushes[:events])
                holding, stop = threading.Event(), threading.Event()
                holder = asyncio.create_task(
                    asyncio.to_thread(_hold_lock, url, harness.repo.id, hold, holding, stop)
                )
                await asyncio.to_thread(holding.wait)
                try:
                    locked = await _answers(github, harness, pushes[events:])
                finally:
                    stop.set()
                    await holder
            finally:
                harness.stop()
                await github.stop()
        finally:
            server.stop()
            shutil.rmtree(pg_root, ignore_errors=True)
    return quiet, locked


def _hold_lock(
    url: str, repo_id: int, hold: float, holding: threading.Event, stop: threading.Event
) -> None:
    """Another process's transaction holding the repository's job lock (state/jobs.py
    `enqueue` takes it), `hold` seconds at a time with a short gap, until `stop`."""
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (repo_id,))
                holding.set()
                stop.wait(hold)
            time.sleep(0.02)


async def _answers(github: LocalGitHub, harness: Harness, pushes: list[Any]) -> list[float]:
    """Send the deliveries 50 ms apart, without waiting for their jobs; each one's answer time."""

    async def one(delivery: Any) -> float:
        answer = await github.send_webhook(harness.app, "push", delivery.payload())
        assert answer.status == 202, answer.status
        return answer.elapsed

    sending = []
    for delivery in pushes:
        sending.append(asyncio.create_task(one(delivery)))
        await asyncio.sleep(0.05)
    return list(await asyncio.gather(*sending))


async def _wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(url):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def _created_at(github: LocalGitHub, sha: str, timeout: float = 10.0) -> datetime:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in github.calls:
            if (
                call.method == "POST"
                and call.path.endswith("/check-runs")
                and isinstance(call.request_json, dict)
                and call.request_json.get("head_sha") == sha
            ):
                return call.started_at
        await asyncio.sleep(0.001)
    raise RuntimeError(f"no check run created for {sha}")


async def _direct_create(github: LocalGitHub, harness: Harness, n: int = 50) -> list[float]:
    """The floor: the same POST, made straight to the local GitHub with a token in hand."""
    token = github.tokens_issued[-1].token
    sha = git(harness.work, "rev-parse", "HEAD")
    url = f"{github.url}/repos/{harness.repo.full_name}/check-runs"
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            started = time.perf_counter()
            async with session.post(
                url, json={"name": "floor", "head_sha": sha}, headers=headers
            ) as response:
                await response.read()
                assert response.status == 201, response.status
            samples.append(time.perf_counter() - started)
    return samples


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--hold", type=float, default=1.0, help="seconds the lock is held")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.hold))
