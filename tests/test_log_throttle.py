"""app/log_throttle.py: a repeated complaint is written once per interval, with the count of the
repeats left out; everything else passes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.log_throttle import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def written(clock: Clock) -> Iterator[list[str]]:
    """What a handler behind the filter writes, for the logger 'conveyor.test'."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.addFilter(RepeatFilter(10.0, now=clock))
    logger = logging.getLogger("conveyor.test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield lines
    logger.removeHandler(handler)


def fail_accept(peer: str) -> None:
    try:
        raise OSError(24, "Too many open files")
    except OSError:
        logging.getLogger("conveyor.test").exception("accept failed for %s", peer)


def test_the_same_traceback_is_written_once_per_interval_with_the_count_left_out(
    clock: Clock, written: list[str]
) -> None:
    for n in range(500):  # each from another peer: the same failure all the same
        fail_accept(f"10.0.0.{n % 250}:{n}")
        clock.now += 0.01
    assert len(written) == 1
    assert written[0].startswith("accept failed for 10.0.0.0:0\nTraceback")
    clock.now += 10
    fail_accept("10.0.0.9:9")
    assert len(written) == 2
    assert written[1].startswith("accept failed for 10.0.0.9:9 [499 more like this in 15s not")
    fail_accept("10.0.0.9:10")  # within the interval again
    assert len(written) == 2


def test_the_same_line_repeats_once_per_interval_and_other_lines_pass(
    clock: Clock, written: list[str]
) -> None:
    log = logging.getLogger("conveyor.test")
    for _ in range(3):
        log.error("database is locked")
        log.warning("job %d: gave up", 1)
        log.warning("job %d: gave up", 2)  # another job: another line
    assert written == ["database is locked", "job 1: gave up", "job 2: gave up"]
    clock.now += 11
    log.error("database is locked")
    assert written[-1] == "database is locked [2 more like this in 11s not logged]"


def test_information_is_never_held_back(written: list[str]) -> None:
    log = logging.getLogger("conveyor.test")
    for _ in range(5):
        log.info("webhook %s accepted", "d-1")
    assert written == ["webhook d-1 accepted"] * 5
