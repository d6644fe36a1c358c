"""app/report/output_counts.py: test counts read from pytest's and unittest's last lines."""

from __future__ import annotations

import pytest

from app.report.output_counts import Counts, counts_from_output


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        ("==== 12 passed in 0.50s ====", Counts(passed=12)),
        (
            "= 1 failed, 12 passed, 1 skipped, 2 xfailed, 1 xpassed, 3 warnings in 0.52s =",
            Counts(passed=13, failed=1, skipped=3),
        ),
        ("=== 2 errors in 1.00s ===", Counts(errors=2)),
        ("=== 1 error, 4 deselected, 1 rerun in 0.01s ===", Counts(errors=1)),
        ("=== 3 passed in 61.20s (0:01:01) ===", Counts(passed=3)),
        ("=== no tests ran in 0.01s ===", Counts()),
    ],
)
def test_pytest_s_last_line(line: str, counts: Counts) -> None:
    assert counts_from_output(f"collected\n{line}\n") == counts


@pytest.mark.parametrize(
    ("tail", "counts"),
    [
        ("Ran 1 test in 0.000s\n\nOK\n", Counts(passed=1)),
        ("Ran 6 tests in 0.003s\n\nOK (skipped=1, expected failures=1)\n", Counts(4, 0, 0, 2)),
        (
            "Ran 9 tests in 0.1s\n\nFAILED (failures=2, errors=1, unexpected successes=1)\n",
            Counts(passed=5, failed=3, errors=1),
        ),
        ("Ran 0 tests in 0.000s\n\nNO TESTS RAN\n", Counts()),
        # More failures than tests claimed (a broken runner's line): never a negative count.
        ("Ran 1 test in 0.1s\n\nFAILED (failures=3)\n", Counts(passed=0, failed=3)),
    ],
)
def test_unittest_s_ran_line_and_verdict(tail: str, counts: Counts) -> None:
    assert counts_from_output("." * 9 + "\n" + "-" * 70 + "\n" + tail) == counts


def test_every_last_line_is_added_up() -> None:
    text = (
        "py311: commands[0]> pytest\n"
        "===== 1 failed, 2 passed in 0.1s =====\n"
        "py312: commands[0]> pytest\n"
        "===== 3 passed, 1 skipped in 0.1s =====\n"
        "Ran 2 tests in 0.1s\n\nFAILED (errors=1)\n"
    )
    assert counts_from_output(text) == Counts(passed=6, failed=1, errors=1, skipped=1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no summary here\n",
        "12 passed in 0.50s\n",  # not pytest's framed line
        "==== 12 passed in 0.50s ==== and more\n",
        "  ==== 12 passed in 0.50s ====\n",  # quoted in a log, indented
        "Ran 3 tests in 0.1s\n",  # no verdict after it
        "=== 1 failed ===\n",  # no time: not the last line
    ],
)
def test_without_a_last_line_there_are_no_counts(text: str) -> None:
    assert counts_from_output(text) is None


def test_unknown_words_are_not_counted() -> None:
    assert counts_from_output("=== 5 bananas in 0.1s ===\n") == Counts()
    assert counts_from_output("=== 5 bananas, 1 passed in 0.1s ===\n") == Counts(passed=1)


def test_counts_add_up() -> None:
    assert Counts(1, 2, 3, 4) + Counts(10, 20, 30, 40) == Counts(11, 22, 33, 44)
    assert Counts() + Counts() == Counts()
