"""What masking secrets costs a run's log, against writing the same bytes plainly.

Run by hand: `.venv/bin/python tests/benchmarks/log_masking.py`.

8 MB of pytest output (a line 80 bytes long, 1,000 to a read of 80 KB, 100 reads) written
through `RunLog` with two secrets to mask (an installation token and a PEM key), and the same
reads written to a file as they come. Goal: well under a second; a test suite's log must never
wait on its masking (the unit test checked under 5 s until it became this benchmark).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.suite.runlog import Masker, RunLog  # noqa: E402

ROUNDS = 5
LINE = b"tests/test_calc.py::test_add PASSED                                   [ 42%]\n"
CHUNKS = [LINE * 1000] * 100
SECRETS = (
    "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF0qJ\n"
    "-----END RSA PRIVATE KEY-----\n",
)


def masked(path: Path) -> float:
    started = time.perf_counter()
    log = RunLog(path, Masker(SECRETS))
    for chunk in CHUNKS:
        log.write(chunk)
    log.close()
    return time.perf_counter() - started


def plain(path: Path) -> float:
    started = time.perf_counter()
    with path.open("wb") as out:
        for chunk in CHUNKS:
            out.write(chunk)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, write in (("RunLog, masked", masked), ("plain file writes", plain)):
            times = [write(Path(folder) / f"{name}-{n}") for n in range(ROUNDS)]
            print(
                f"{name:<20} 8 MB: median {statistics.median(times) * 1000:7.1f} ms  "
                f"worst {max(times) * 1000:7.1f} ms"
            )


if __name__ == "__main__":
    main()
