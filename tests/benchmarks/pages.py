"""How long a run's page takes to lay out, against escaping the same log whole.

Run by hand: `.venv/bin/python tests/benchmarks/pages.py`.

A log as pytest writes one, in colour (a passed line, now and then a failure), at 256 KiB (the
page shows all of it) and at 16 MB (LOG_LIMIT_KB's default: the page shows its first and last
128 KiB, at most 2,500 lines each). Conveyor's figure is `pages.run_page` (the header, the
summary's Markdown, the log's colours, sections and numbered rows); the baseline is
`html.escape` of the whole log, the least any page showing it must do. Target: under 0.5 s for
the 16 MB log, so that opening a long run's page stays quick (it is laid out in a thread, beside
the webhooks).
"""

from __future__ import annotations

import html
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.pages import run_page  # noqa: E402
from app.report.model import CheckOutput  # noqa: E402
from tests.pages.test_run_page import job  # noqa: E402

SUMMARY = "✘ **1 test failed**\n\n| test | message |\n| --- | --- |\n| `t` | assert 1 == 2 |\n"


def sample_log(size: int) -> bytes:
    lines = [b"\n\xe2\x94\x80\xe2\x94\x80 Testing (network off) \xe2\x94\x80\xe2\x94\x80 [3.2s]"]
    n = 0
    total = 0
    while total < size:
        if n % 500 == 499:
            line = f"tests/test_mod_{n}.py::test_case_{n} \x1b[31mFAILED\x1b[0m  [ {n % 100}%]"
        else:
            line = f"tests/test_mod_{n}.py::test_case_{n} \x1b[32mPASSED\x1b[0m  [ {n % 100}%]"
        lines.append(line.encode())
        total += len(line) + 1
        n += 1
    return b"\n".join(lines) + b"\n"


def best(seconds: list[float]) -> float:
    return min(seconds)


def measure(size: int) -> tuple[float, float, int]:
    data = sample_log(size)
    finished = job(
        state="finished",
        conclusion="failure",
        finished_at=60.0,
        output=CheckOutput("failure", "1 test failed", SUMMARY),
    )
    page_times = []
    page = ""
    for _ in range(3):
        started = time.perf_counter()
        page = run_page(finished, data, len(data))
        page_times.append(time.perf_counter() - started)
    escape_times = []
    for _ in range(3):
        started = time.perf_counter()
        html.escape(data.decode(errors="replace"))
        escape_times.append(time.perf_counter() - started)
    return best(page_times), best(escape_times), len(page)


def main() -> None:
    for size in (256 * 1024, 16 * 1024 * 1024):
        page, escape, length = measure(size)
        print(
            f"log {size / 1024 / 1024:6.2f} MB   run page {page * 1000:7.1f} ms"
            f" ({length / 1024:,.0f} KiB of HTML)   escaping the log {escape * 1000:7.1f} ms"
        )
    print("(each the best of 3 runs)")


if __name__ == "__main__":
    main()
