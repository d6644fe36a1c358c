"""Test counts read from what a run printed, for runs that left no report to read.

tox and nox running pytest themselves (tox does not pass PYTEST_ADDOPTS on), a project giving
its own `--junitxml`, a custom runner around unittest: each still prints its last line. pytest's
`==== 12 passed, 1 skipped, 2 xfailed in 0.50s ====` and unittest's `Ran 9 tests in 0.001s`
followed by `OK (skipped=1)` or `FAILED (failures=2, errors=1)`. Every such line of the output is
counted (tox running several environments, or a command running pytest twice, prints several).
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "=== 1 failed, 12 passed, 1 skipped, 3 warnings in 0.52s ===", "=== no tests ran in 0.01s ==="
_PYTEST_LAST = re.compile(
    r"^=+ (?P<parts>(?:\d+ [a-z]+(?:, )?)+|no tests ran) in [\d.]+s(?: \([^)]*\))? =+$",
    re.MULTILINE,
)
_PART = re.compile(r"(\d+) ([a-z]+)")
_PYTEST_WORDS = {
    "passed": "passed",
    "xpassed": "passed",
    "failed": "failed",
    "error": "errors",
    "errors": "errors",
    "skipped": "skipped",
    "xfailed": "skipped",
    "deselected": "",
    "warning": "",
    "warnings": "",
    "rerun": "",
}
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s\n+(OK|FAILED|NO TESTS RAN)(.*)$", re.M)
_UNITTEST_PART = re.compile(
    r"(failures|errors|skipped|expected failures|unexpected successes)=(\d+)"
)


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.passed + other.passed,
            self.failed + other.failed,
            self.errors + other.errors,
            self.skipped + other.skipped,
        )


def counts_from_output(text: str) -> Counts | None:
    """The sum of every pytest and unittest last line in the text; None when there is none."""
    found: Counts | None = None
    for line in _PYTEST_LAST.finditer(text):
        tally: dict[str, int] = {}
        for number, word in _PART.findall(line["parts"]):
            key = _PYTEST_WORDS.get(word, "")
            if key:
                tally[key] = tally.get(key, 0) + int(number)
        found = (found or Counts()) + Counts(**tally)
    for ran in _UNITTEST_RAN.finditer(text):
        parts = {name: int(n) for name, n in _UNITTEST_PART.findall(ran[3])}
        failed = parts.get("failures", 0) + parts.get("unexpected successes", 0)
        errors = parts.get("errors", 0)
        skipped = parts.get("skipped", 0) + parts.get("expected failures", 0)
        passed = max(int(ran[1]) - failed - errors - skipped, 0)
        found = (found or Counts()) + Counts(passed, failed, errors, skipped)
    return found
