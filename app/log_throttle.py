"""The same complaint at most once per INTERVAL seconds, with a count of the repeats left out.

A failure that repeats on every request or every accept (no open files left, a full disk, a
database that refuses writes) wrote a traceback each time: 147 MB in 46 s, which then fills the
disk it complains about. The first one is written whole; repeats within INTERVAL are counted,
and the next one written after it says how many were left out.

"The same": records with a traceback are the same when their logger, level, message template
and exception type are (the peer address or the job in the arguments changes on every repeat);
records without one when their logger, level and whole message are. Only WARNING and above are
throttled: information lines are the service's account of what it did.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

INTERVAL = 10.0
# Distinct complaints remembered at once; the oldest is forgotten first.
KEYS = 1024

Key = tuple[str, int, str, str]


class RepeatFilter(logging.Filter):
    def __init__(self, interval: float = INTERVAL, now: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval = interval
        self._now = now
        # key -> (when it was last written, repeats left out since)
        self._seen: OrderedDict[Key, tuple[float, int]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = _key(record)
        now = self._now()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.interval:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        if last is not None and last[1]:
            # Said once on this record: handlers format it after the filter.
            left_out = f"[{last[1]} more like this in {now - last[0]:.0f}s not logged]"
            record.msg = f"{record.msg} {left_out}"
        self._seen[key] = (now, 0)
        self._seen.move_to_end(key)
        while len(self._seen) > KEYS:
            self._seen.popitem(last=False)
        return True


def _key(record: logging.LogRecord) -> Key:
    if record.exc_info and record.exc_info[0] is not None:
        return (record.name, record.levelno, str(record.msg), record.exc_info[0].__qualname__)
    return (record.name, record.levelno, record.getMessage(), "")


def install(interval: float = INTERVAL) -> RepeatFilter:
    """On every handler of the root logger (where every record ends up, and where filters see
    records of all loggers, which a logger's own filters do not)."""
    repeat = RepeatFilter(interval)
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeat)
    return repeat
