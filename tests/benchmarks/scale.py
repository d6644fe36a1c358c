"""Scaling out: webhooks accepted per second and jobs finished per second, by setup.

Run by hand: `.venv/bin/python tests/benchmarks/scale.py [--events 200] [--senders 16]`.

Side by side, each with a fresh local GitHub and database:
- `python -m app` on SQLite with WORKERS=1, the one-machine setup (the baseline), and WORKERS=4;
- `python -m app web` + 1 and + 4 `python -m app worker` processes (WORKERS=1 each) sharing a
  PostgreSQL that this script starts (as the test session does), each worker with a data folder
  of its own, as on separate machines.

For each: N commits pushed to N branches while the webhook points nowhere, then the N `push`
deliveries sent by concurrent senders as fast as they go (webhooks/s accepted, answer times),
then the time until every commit's check run is completed (jobs/s). The suite is trivial
(`.conveyor.yml` runs `python -c pass`), so the figures are Conveyor's own. Every commit must get
exactly one check run.

All of it shares this machine's cores (2 here) with the local GitHub and the senders: more
workers than cores measure contention, not capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.localgithub import LocalGitHub  # noqa: E402
from tests.benchmarks.burst import TRIVIAL, branches_pushed_unannounced, burst, figures  # noqa: E402
from tests.e2e.harness import Harness  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402


@dataclass(frozen=True)
class Setup:
    name: str
    postgres: bool
    worker_processes: int  # 0: `python -m app` runs the jobs itself
    workers: int  # WORKERS of the process(es) that run jobs


SETUPS = (
    Setup("SQLite, one process, WORKERS=1", False, 0, 1),
    Setup("SQLite, one process, WORKERS=4", False, 0, 4),
    Setup("PostgreSQL, web + 1 worker process", True, 1, 1),
    Setup("PostgreSQL, web + 4 worker processes", True, 4, 1),
)


@dataclass(frozen=True)
class Result:
    setup: Setup
    accepted: str
    statuses: Counter[int]
    drained: float
    per_commit: Counter[int]
    events: int

    @property
    def exactly_once(self) -> bool:
        return self.statuses == Counter({202: self.events}) and self.per_commit == Counter(
            {1: self.events}
        )


async def measure(setup: Setup, events: int, senders: int, database_url: str | None) -> Result:
    with tempfile.TemporaryDirectory(prefix="conveyor-scale-") as tmp:
        root = Path(tmp)
        github = LocalGitHub(root / "github")
        await github.start()
        harness = Harness(github, root, database_url)
        try:
            if setup.worker_processes:
                await harness.setup(command="web")
                for _ in range(setup.worker_processes):
                    await harness.add_worker(workers=setup.workers)
            else:
                await harness.setup(workers=setup.workers)
            harness.commit({**TRIVIAL, "calc.py": "X = 1\n"}, "trivial suite")
            first = await harness.push("main")
            await harness.completed(first)  # environments built, tokens cached: a warm service

            commits, payloads = await branches_pushed_unannounced(github, harness, events)

            github.set_webhook_url(harness.app, f"{harness.service.url}/webhook")
            started = time.perf_counter()
            answers, took = await burst(github, harness, payloads, senders)
            deadline = time.monotonic() + 30 * 60
            while time.monotonic() < deadline:
                if all(any(r.status == "completed" for r in harness.runs(sha)) for sha in commits):
                    break
                await asyncio.sleep(0.2)
            drained = time.perf_counter() - started
            await asyncio.sleep(2)  # a duplicate created late would show up now
            per_commit = Counter(len(harness.runs(sha)) for sha in commits)
            return Result(
                setup,
                figures([a.elapsed for a in answers], took),
                Counter(a.status or 0 for a in answers),
                drained,
                per_commit,
                events,
            )
        finally:
            harness.stop()
            await github.stop()


async def main(events: int, senders: int) -> None:
    pg_root = Path(tempfile.mkdtemp(prefix="conveyor-scale-pg-"))
    server = PostgresServer.start(pg_root)
    results = []
    try:
        for setup in SETUPS:
            database_url = None
            if setup.postgres:
                database_url = server.create_database(f"scale_{uuid.uuid4().hex}")
            print(f"{setup.name}: {events} commits...", flush=True)
            results.append(await measure(setup, events, senders, database_url))
    finally:
        server.stop()
        shutil.rmtree(pg_root, ignore_errors=True)

    print(f"\n{events} push webhooks from {senders} concurrent senders; trivial suite")
    print(
        f"{'setup':40} {'webhooks accepted, answer times':73} {'jobs/s':>7}  {'exactly once':>12}"
    )
    for result in results:
        print(
            f"{result.setup.name:40} {result.accepted}   "
            f"{events / result.drained:7.2f}  {'yes' if result.exactly_once else 'NO':>12}"
        )
    bad = [r for r in results if not r.exactly_once]
    for result in bad:
        print(
            f"  {result.setup.name}: answers {dict(result.statuses)}, runs per commit "
            f"{dict(result.per_commit)}"
        )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--senders", type=int, default=16)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.senders))
