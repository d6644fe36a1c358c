"""A burst of webhooks: are they all answered in time, and is each processed exactly once?

Run by hand: `.venv/bin/python tests/benchmarks/burst.py [--events 500] [--senders 16]`.

It starts the local GitHub and the real service (`python -m app`, WORKERS=1), pushes one commit
to each of N branches while the app's webhook points nowhere, then sends the N `push` deliveries
from several concurrent senders as fast as they go, first to a bare aiohttp server that answers
202 and does nothing (the baseline), then to Conveyor. It prints side by side the webhooks per
second accepted and the answer time (median, p95, max), then waits for the queue to drain and
checks that every commit got exactly one check run, completed, and none got two.

The repository's suite is trivial (`.conveyor.yml` runs `python -c pass`), so the drain measures
the service, not a test suite. GitHub waits at most 10 s for an answer.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.localgithub import LocalGitHub, WebhookDelivery  # noqa: E402
from tests.benchmarks.webhooks import BASELINE_SERVER, _wait_up  # noqa: E402
from tests.e2e.harness import Harness, free_port  # noqa: E402

TRIVIAL = {".conveyor.yml": "checks:\n  tests:\n    run: python -c pass\n"}


def figures(samples: list[float], took: float) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{len(ms) / took:8.1f}/s   median {statistics.median(ms):8.2f} ms   "
        f"p95 {p95:8.2f} ms   max {ms[-1]:8.2f} ms"
    )


async def burst(
    github: LocalGitHub, harness: Harness, payloads: list[dict[str, Any]], senders: int
) -> tuple[list[WebhookDelivery], float]:
    """Send every payload, `senders` at a time; the answers and the wall time."""
    todo = list(enumerate(payloads))
    answers: list[WebhookDelivery | None] = [None] * len(payloads)

    async def sender() -> None:
        while todo:
            index, payload = todo.pop()
            answers[index] = await github.send_webhook(harness.app, "push", payload)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    took = time.perf_counter() - started
    return [a for a in answers if a is not None], took


async def branches_pushed_unannounced(
    github: LocalGitHub, harness: Harness, events: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """A commit on each of `events` new branches, pushed while the webhook points nowhere: the
    commits, and the `push` payloads to send later."""
    github.set_webhook_url(harness.app, f"http://127.0.0.1:{free_port()}/webhook")
    seen = len(github.deliveries)
    commits = []
    for n in range(events):
        harness.branch(f"burst-{n}")
        commits.append(harness.commit({f"burst_{n}.txt": f"{n}\n"}, f"burst {n}"))
        await harness.push(f"burst-{n}")
    payloads = [d.payload() for d in github.deliveries[seen:] if d.event == "push"]
    assert len(payloads) == events, len(payloads)
    return commits, payloads


async def main(events: int, senders: int) -> None:
    with tempfile.TemporaryDirectory(prefix="conveyor-burst-") as tmp:
        root = Path(tmp)
        github = LocalGitHub(root / "github")
        await github.start()
        harness = Harness(github, root)
        await harness.setup(workers=1)
        harness.commit({**TRIVIAL, "calc.py": "X = 1\n"}, "trivial suite")
        first = await harness.push("main")
        await harness.completed(first)

        print(f"pushing {events} branches...", flush=True)
        commits, payloads = await branches_pushed_unannounced(github, harness, events)

        baseline_port = free_port()
        baseline = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock
            [sys.executable, "-c", BASELINE_SERVER, str(baseline_port)]
        )
        try:
            await _wait_up(f"http://127.0.0.1:{baseline_port}/webhook")
            github.set_webhook_url(harness.app, f"http://127.0.0.1:{baseline_port}/webhook")
            floor, floor_took = await burst(github, harness, payloads, senders)
        finally:
            baseline.terminate()
            baseline.wait()

        github.set_webhook_url(harness.app, f"{harness.service.url}/webhook")
        answers, took = await burst(github, harness, payloads, senders)
        statuses = Counter(a.status for a in answers)

        drain_started = time.perf_counter()
        deadline = time.monotonic() + 30 * 60
        while time.monotonic() < deadline:
            if all(any(r.status == "completed" for r in harness.runs(sha)) for sha in commits):
                break
            await asyncio.sleep(0.5)
        drained = time.perf_counter() - drain_started
        await asyncio.sleep(2)  # a duplicate created late would show up now
        per_commit = Counter(len(harness.runs(sha)) for sha in commits)
        unfinished = [
            sha for sha in commits if not all(r.status == "completed" for r in harness.runs(sha))
        ]
        harness.service.stop()
        await github.stop()

    print(f"\n{events} push webhooks from {senders} concurrent senders")
    print(f"  bare aiohttp   {figures([a.elapsed for a in floor], floor_took)}")
    print(f"  Conveyor       {figures([a.elapsed for a in answers], took)}")
    print(f"  Conveyor answers: {dict(statuses)}")
    print(f"  queue drained in {drained:.1f}s ({events / drained:.1f} commits/s with WORKERS=1)")
    print(f"  check runs per commit: {dict(per_commit)} (want {{1: {events}}})")
    ok = statuses == Counter({202: events}) and per_commit == Counter({1: events})
    if unfinished:
        print(f"  not completed: {len(unfinished)}, e.g. {unfinished[:3]}")
        ok = False
    print("  exactly once: " + ("yes" if ok else "NO"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--senders", type=int, default=16)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.senders))
