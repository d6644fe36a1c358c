"""What planning in a child process costs, against planning in the service's own process.

Run by hand: `.venv/bin/python tests/benchmarks/planning.py`.

For a small `.conveyor.yml`, 20 plans each way, printed as median and worst:
- in process: `make_plan` called directly (what the service did before; it blocked the loop);
- a fresh child each time: a Python start and the planner's imports on the critical path;
- `Planner` with its spare child (what the service does): the spare is started ahead, after
  each answer, so a plan costs the request, the planning and the answer.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.suite.planner import make_plan  # noqa: E402
from app.suite.planning_process import Planner  # noqa: E402

ROUNDS = 20
AVAILABLE = [f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"]


def show(name: str, times: list[float]) -> None:
    print(
        f"{name:<28} median {statistics.median(times) * 1000:7.1f} ms  worst "
        f"{max(times) * 1000:7.1f} ms"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / ".conveyor.yml").write_text(
            "checks:\n  tests:\n    install: pip install -e .[test]\n    run: pytest -q\n"
        )
        direct = []
        for _ in range(ROUNDS):
            started = time.monotonic()
            make_plan(root, AVAILABLE)
            direct.append(time.monotonic() - started)
        fresh = []
        for _ in range(ROUNDS):
            planner = Planner()
            started = time.monotonic()
            await planner.plan(root, AVAILABLE)
            fresh.append(time.monotonic() - started)
            planner.close()
        spare = []
        planner = Planner()
        await planner.plan(root, AVAILABLE)  # starts the first spare
        for _ in range(ROUNDS):
            await asyncio.sleep(0.5)  # commits do not come back to back; the spare gets ready
            started = time.monotonic()
            await planner.plan(root, AVAILABLE)
            spare.append(time.monotonic() - started)
        planner.close()
    show("in process (before)", direct)
    show("fresh child each time", fresh)
    show("child started ahead (now)", spare)


if __name__ == "__main__":
    asyncio.run(main())
