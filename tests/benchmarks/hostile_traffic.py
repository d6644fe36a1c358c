"""Real webhooks beside hostile traffic: how many are served, and how fast, against a quiet run.

Run by hand: `.venv/bin/python tests/benchmarks/hostile_traffic.py [--events N] [--seconds S]`.

It starts the local GitHub and the real service process (`python -m app`, WORKERS=1) under an
open-files limit of 1,024 (hard 1,200, as on many hosts; the service raises its soft limit to
the hard one), then sends N signed `push` deliveries one at a time, spread over S seconds, each
for a new commit:

1. quiet: nothing else;
2. hostile: the same beside a bounded mix, kept up for the whole phase:
   - 1,100 idle connections (more than the open files the service started with),
   - 200 slowloris connections sending one header line every 2 s and never finishing
     (each reopened when the server closes it),
   - 30 slow bodies: a signature header, 1 MB announced, 100 bytes a second (reopened),
   - 4 senders of oversized deliveries (30 MB announced) and 4 of unsigned 25 MB bodies,
   - 4 senders of small unsigned deliveries, back to back.

The attackers run in a process of their own (the local GitHub, which sends the deliveries and
times them, shares this one's event loop). For each phase it prints the deliveries served
(answered 202), their answer time and the time from the delivery to the `queued` check run,
median and p95; then what the attackers met, the service's peak memory and how much its log
grew.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.localgithub import LocalGitHub, WebhookDelivery  # noqa: E402
from tests.e2e.harness import PASSING, Harness, ServiceProcess, free_port, git  # noqa: E402

IDLE = 1100
SLOWLORIS = 200
SLOW_BODIES = 30
SENDERS = 4


def figures(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms"


class Attack:
    """The hostile mix, against host:port, until `stop` is set; counts what it met."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.stop = asyncio.Event()
        self.met: Counter[str] = Counter()
        self.idle: list[asyncio.StreamWriter] = []

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._idle())]
        tasks += [asyncio.create_task(self._slowloris()) for _ in range(SLOWLORIS)]
        tasks += [asyncio.create_task(self._slow_body()) for _ in range(SLOW_BODIES)]
        tasks += [asyncio.create_task(self._post(30 * 2**20, signed=True)) for _ in range(SENDERS)]
        tasks += [asyncio.create_task(self._post(25 * 2**20, signed=False)) for _ in range(SENDERS)]
        tasks += [asyncio.create_task(self._post(2000, signed=False)) for _ in range(SENDERS)]
        await self.stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in self.idle:
            writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 10)

    async def _idle(self) -> None:
        gate = asyncio.Semaphore(100)

        async def one() -> None:
            async with gate:
                try:
                    _, writer = await self._connect()
                except (OSError, TimeoutError):
                    self.met["idle: connect failed"] += 1
                    return
                self.idle.append(writer)

        await asyncio.gather(*(one() for _ in range(IDLE)))
        self.met["idle: connections opened"] += len(self.idle)

    async def _slowloris(self) -> None:
        while not self.stop.is_set():
            try:
                reader, writer = await self._connect()
            except (OSError, TimeoutError):
                self.met["slowloris: connect failed"] += 1
                await asyncio.sleep(1)
                continue
            try:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                for n in range(10_000):
                    await asyncio.sleep(2)
                    writer.write(f"X-Slow-{n}: 1\r\n".encode())
                    await writer.drain()
                    if reader.at_eof():
                        break
            except OSError:
                pass
            finally:
                writer.close()
            self.met["slowloris: closed by the server"] += 1

    async def _slow_body(self) -> None:
        while not self.stop.is_set():
            try:
                reader, writer = await self._connect()
            except (OSError, TimeoutError):
                self.met["slow body: connect failed"] += 1
                await asyncio.sleep(1)
                continue
            answer = b""
            try:
                writer.write(
                    b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
                    b"X-GitHub-Delivery: slow\r\nX-Hub-Signature-256: sha256=00\r\n"
                    b"Content-Length: 1048576\r\n\r\n"
                )
                reading = asyncio.create_task(reader.readline())
                while not reading.done():
                    writer.write(b"x" * 100)
                    await writer.drain()
                    await asyncio.wait({reading}, timeout=1)
                answer = reading.result()
            except OSError:
                pass
            finally:
                writer.close()
            self.met[f"slow body: {answer.decode().strip() or 'closed'}"] += 1

    async def _post(self, size: int, *, signed: bool) -> None:
        amount = f"{size // 2**20} MB" if size >= 2**20 else f"{size} B"
        kind = f"{'signed' if signed else 'unsigned'} {amount}"
        chunk = b"x" * min(size, 256 * 1024)
        while not self.stop.is_set():
            try:
                reader, writer = await self._connect()
            except (OSError, TimeoutError):
                self.met[f"{kind}: connect failed"] += 1
                await asyncio.sleep(0.5)
                continue
            answer = b""
            try:
                signature = b"X-Hub-Signature-256: sha256=00\r\n" if signed else b""
                head = f"Content-Length: {size}\r\n\r\n".encode()
                writer.write(
                    b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
                    b"X-GitHub-Delivery: x\r\n" + signature + head
                )
                sending = asyncio.create_task(_write(writer, chunk, max(1, size // len(chunk))))
                try:
                    answer = await asyncio.wait_for(reader.readline(), 30)
                finally:
                    sending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, OSError):
                        await sending
            except (OSError, TimeoutError):
                pass
            finally:
                writer.close()
            self.met[f"{kind}: {answer.decode().strip() or 'no answer'}"] += 1


async def _write(writer: asyncio.StreamWriter, chunk: bytes, times: int) -> None:
    for _ in range(times):
        writer.write(chunk)
        await writer.drain()


def attack_process(
    port: int, stop: EventType, report: multiprocessing.Queue[dict[str, int]]
) -> None:
    """The attack, in a process of its own, until `stop`; what it met goes to `report`."""

    async def attack() -> dict[str, int]:
        attack = Attack("127.0.0.1", port)
        running = asyncio.create_task(attack.run())
        await asyncio.to_thread(stop.wait)
        attack.stop.set()
        await running
        return dict(attack.met)

    report.put(asyncio.run(attack()))


def status_kb(pid: int, name: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{name}:\s+(\d+) kB$", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


async def main(events: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        github = LocalGitHub(root / "github")
        await github.start()
        harness = Harness(github, root)
        await harness.setup(workers=1)
        harness.service.stop()
        harness.service = ServiceProcess(
            harness.env, root / "service.log", prefix=["prlimit", "--nofile=1024:1200"]
        )
        await harness.service.start()
        harness.commit(PASSING, "calculator")
        await harness.push("main")
        await harness.completed(git(harness.work, "rev-parse", "HEAD"))

        # Commits to test, pushed while the app's webhook points nowhere: their deliveries are
        # then sent one at a time, under the clock.
        github.set_webhook_url(harness.app, f"http://127.0.0.1:{free_port()}/webhook")
        for n in range(2 * events):
            harness.branch(f"bench-{n}")
            harness.commit({f"bench_{n}.py": f"N = {n}\n"}, f"bench {n}")
            await harness.push(f"bench-{n}")
        pushes = [d for d in github.deliveries if d.event == "push"][-2 * events :]
        github.set_webhook_url(harness.app, f"{harness.service.url}/webhook")
        assert harness.service.process is not None
        pid = harness.service.process.pid
        log_start = harness.service.log_path.stat().st_size

        gap = seconds / events
        quiet = await send(github, harness, pushes[:events], gap)
        peak_quiet = status_kb(pid, "VmHWM")

        spawn = multiprocessing.get_context("spawn")
        stop = spawn.Event()
        report: multiprocessing.Queue[dict[str, int]] = spawn.Queue()
        attacker = spawn.Process(target=attack_process, args=(harness.port, stop, report))
        attacker.start()
        await asyncio.sleep(5)  # the idle connections are open, the others at work
        hostile = await send(github, harness, pushes[events:], gap)
        stop.set()
        met = await asyncio.to_thread(report.get, timeout=120)
        attacker.join()
        alive = harness.service.process.poll() is None
        peak = status_kb(pid, "VmHWM")
        log_grown = harness.service.log_path.stat().st_size - log_start
        log_lines = harness.service.log_path.read_bytes()[log_start:].count(b"\n")
        limits = Path(f"/proc/{pid}/limits").read_text() if alive else ""
        harness.service.stop()
        await github.stop()

    print(
        f"{events} deliveries one at a time over {seconds:.0f}s per phase; the service started"
        " under prlimit --nofile=1024:1200"
    )
    print(
        re.search(r"^Max open files.*$", limits, re.MULTILINE).group(0)  # type: ignore[union-attr]
        if limits
        else "(service gone)"
    )
    for name, (served, answers, queued) in (("quiet  ", quiet), ("hostile", hostile)):
        print(f"{name} served {served:3d}/{events}   answer  {figures(answers)}")
        print(f"{'':7} {'':11}   queued  {figures(queued)}")
    print("what the attackers met:")
    for what, count in sorted(met.items()):
        print(f"  {count:6d}  {what}")
    print(f"service alive: {alive}; peak RSS {peak_quiet / 1024:.0f} MB after the quiet phase,")
    print(
        f"{peak / 1024:.0f} MB after the hostile one; log grew by {log_grown / 1024:.0f} kB"
        f" ({log_lines} lines)"
    )


async def send(
    github: LocalGitHub, harness: Harness, deliveries: list[WebhookDelivery], gap: float
) -> tuple[int, list[float], list[float]]:
    """Each delivery `gap` seconds after the previous one started (or at once when late)."""
    served = 0
    next_at = time.monotonic()
    answers: list[float] = []
    queued: list[float] = []
    for delivery in deliveries:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += gap
        payload = delivery.payload()
        sent = datetime.now(UTC)
        answer = await github.send_webhook(harness.app, "push", payload)
        if answer.status != 202:
            continue
        served += 1
        answers.append(answer.elapsed)
        created = await _created_at(github, payload["after"])
        if created is not None:
            queued.append((created - sent).total_seconds())
    return served, answers, queued


async def _created_at(github: LocalGitHub, sha: str, timeout: float = 10.0) -> datetime | None:
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
    return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60, help="deliveries per phase")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long a phase lasts")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.seconds))
