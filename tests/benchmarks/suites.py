"""What Conveyor adds to a project's own test time, measured against doing it by hand.

Run by hand: `.venv/bin/python tests/benchmarks/suites.py`.

One sample project (a package with a `test` extra and 40 tests), pushed to the local GitHub and
tested by the real service, beside the same work done by hand in the same run:

- first run: Conveyor from the push webhook to the completed check run, with nothing cached
  (no mirror, no environment, an empty download cache), against a person's fresh clone, venv,
  `pip install -e .[test]` and `pytest` (also with an empty pip cache).
  Target: no more than the hand-run time plus 1 s.
- second run: a new commit that changes only test code; Conveyor reuses the environment. Against
  the bare `pytest` time in an installed environment. Target: under 1 s plus that time.
- new dependencies: a third commit that changes pyproject.toml, so a new environment is built,
  now from the interpreter's venv template that the first run made (app/suite/venv_templates.py).
  Against the first run by hand, which builds one from nothing too.
- the sandbox's own overhead per command: `true` through the sandbox against `true` run plainly.
  Target: under 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.localgithub import LocalGitHub  # noqa: E402
from app.suite.sandbox import Limits, Mount, open_sandbox  # noqa: E402
from tests.e2e.harness import Harness, git  # noqa: E402
from tests.e2e.test_suites import CALC  # noqa: E402
from tests.e2e.test_suites import PYPROJECT_WITH_TEST_EXTRA as PYPROJECT  # noqa: E402


def tests_file(name: str, count: int) -> str:
    body = "from calc import add\n"
    for n in range(count):
        body += f"\n\ndef test_{name}_{n}():\n    assert add({n}, 1) == {n + 1}\n"
    return body


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def by_hand(bare: Path, work: Path) -> tuple[float, float]:
    """(fresh clone + venv + install + pytest, bare pytest in the installed environment)."""
    env = {**os.environ, "PIP_CACHE_DIR": str(work / "pip-cache"), "PIP_PROGRESS_BAR": "off"}
    env.pop("VIRTUAL_ENV", None)
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(bare), str(work / "src")], check=True)
    src = work / "src"
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    pip = [str(work / "venv/bin/python"), "-m", "pip", "install", "-q", "-e", ".[test]"]
    subprocess.run(pip, cwd=src, env=env, check=True, capture_output=True)
    pytest = [str(work / "venv/bin/python"), "-m", "pytest", "-q"]
    subprocess.run(pytest, cwd=src, env=env, check=True, capture_output=True)
    first = time.perf_counter() - started
    bare_pytest = statistics.median(timed(pytest, src, env) for _ in range(3))
    return first, bare_pytest


async def conveyor(root: Path) -> tuple[float, float, float, Path]:
    github = LocalGitHub(root / "github")
    await github.start()
    harness = Harness(github, root)
    await harness.setup(workers=1)
    try:
        harness.commit(
            {"pyproject.toml": PYPROJECT, "calc.py": CALC, "test_a.py": tests_file("a", 40)},
            "sample",
        )
        first = await _push_and_wait(harness)
        harness.commit({"test_b.py": tests_file("b", 1)}, "one more test")
        second = await _push_and_wait(harness)
        harness.commit({"pyproject.toml": PYPROJECT + "\n# dependencies changed\n"}, "deps")
        third = await _push_and_wait(harness)
        return first, second, third, harness.repo.bare_path
    finally:
        harness.service.stop()
        await github.stop()


async def _push_and_wait(harness: Harness) -> float:
    started = time.perf_counter()
    sha = await harness.push("main")
    [run] = await harness.completed(sha, timeout=300)
    assert run.conclusion == "success", run.output.text
    return time.perf_counter() - started


async def sandbox_overhead(tmp: Path, runs: int = 50) -> tuple[float, float]:
    sandbox = open_sandbox()
    work = tmp / "overhead"
    work.mkdir()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await sandbox.run(
            "true",
            mounts=[Mount(work, "/conveyor/src", writable=True)],
            cwd="/conveyor/src",
            env={"PATH": "/usr/bin:/bin"},
            network=False,
            limits=Limits(),
            timeout=30,
            on_output=lambda _: None,
        )
        samples.append(time.perf_counter() - started)
        assert result.returncode == 0
    plain = [timed(["/bin/sh", "-c", "true"], work) for _ in range(runs)]
    return statistics.median(samples), statistics.median(plain)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        first, second, third, bare = await conveyor(root / "conveyor")
        hand_first, bare_pytest = by_hand(bare, root / "hand")
        sandboxed, plain = await sandbox_overhead(root)
        git(root, "--version")
    print(
        f"first run     Conveyor {first:6.2f} s   by hand {hand_first:6.2f} s   "
        f"difference {first - hand_first:+.2f} s   (target: at most +1 s)"
    )
    print(
        f"second run    Conveyor {second:6.2f} s   bare pytest {bare_pytest:6.2f} s   "
        f"difference {second - bare_pytest:+.2f} s   (target: under +1 s)"
    )
    print(
        f"new deps      Conveyor {third:6.2f} s   by hand {hand_first:6.2f} s   "
        f"difference {third - hand_first:+.2f} s   (a new environment, the venv template made)"
    )
    print(
        f"sandbox       `true` {sandboxed * 1000:6.1f} ms   plain {plain * 1000:6.1f} ms   "
        f"overhead {(sandboxed - plain) * 1000:+.1f} ms   (target: under 50 ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())
