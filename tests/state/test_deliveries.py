"""app/state/deliveries.py: replays refused by id and by body, orphans taken over once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.state import State
from app.state.database import Database
from app.state.deliveries import Delivery, body_digest
from app.state.presence import ProcessRecord

RERUN = b'{"action": "rerequested", "check_run": {"id": 4}, "installation": {"id": 1}}'


def test_a_replayed_delivery_id_is_refused(state: State) -> None:
    assert state.deliveries.record("guid-1", "push", None, b'{"a": 1}') is True
    assert state.deliveries.record("guid-1", "push", None, b'{"a": 1}') is False
    assert state.deliveries.record("guid-1", "pull_request", "opened", b"{}") is False
    assert state.deliveries.record("guid-2", "pull_request", "opened", b"{}") is True
    pending = state.deliveries.orphaned([])
    assert pending == [
        Delivery("guid-1", "push", b'{"a": 1}'),
        Delivery("guid-2", "pull_request", b"{}"),
    ]


def test_a_processed_delivery_is_no_longer_pending_but_still_refused(state: State) -> None:
    state.deliveries.record("guid-1", "push", None, b"{}")
    state.deliveries.processed("guid-1", error="KeyError: 'x'")
    assert state.deliveries.orphaned([]) == []
    state.deliveries.forget_before(0.0)  # nothing that old
    assert state.deliveries.record("guid-1", "push", None, b"{}") is False


def test_forgetting_old_processed_deliveries(state: State) -> None:
    state.deliveries.record("old", "push", None, b"{}")
    state.deliveries.record("pending", "push", None, b'{"n": 2}')
    state.deliveries.processed("old")
    state.deliveries.forget_before(float("inf"))
    assert state.deliveries.record("old", "push", None, b"{}") is True
    assert [d.delivery_id for d in state.deliveries.orphaned([])] == ["pending", "old"]


def test_deliveries_of_a_dead_process_are_taken_by_one_other(state: State) -> None:
    now = time.time()
    for name in ("dead", "alive"):
        state.processes.register(ProcessRecord(name, "host", 1, "web", now, now))
    state.deliveries.record("guid-1", "push", None, b'{"n": 1}', received_by="dead")
    state.deliveries.record("guid-2", "push", None, b'{"n": 2}', received_by="alive")
    state.deliveries.record("guid-3", "push", None, b'{"n": 3}')  # an older version: nobody
    state.deliveries.record("guid-4", "push", None, b'{"n": 4}', received_by="stopped")  # no row
    assert [d.delivery_id for d in state.deliveries.orphaned([])] == ["guid-3", "guid-4"]
    orphans = state.deliveries.orphaned(["dead"])
    assert [(d.delivery_id, d.received_by) for d in orphans] == [
        ("guid-1", "dead"),
        ("guid-3", None),
        ("guid-4", "stopped"),
    ]
    assert state.deliveries.take("guid-1", "dead", "me") is True
    assert state.deliveries.take("guid-1", "dead", "other") is False
    assert state.deliveries.take("guid-3", None, "me") is True
    state.processes.register(ProcessRecord("me", "host", 2, "web", now, now))
    assert [d.delivery_id for d in state.deliveries.orphaned(["dead"])] == ["guid-4"]


def test_a_body_seen_before_under_another_id_is_refused(state: State) -> None:
    assert state.deliveries.record("guid-1", "check_run", "rerequested", RERUN) is True
    assert state.deliveries.record("guid-2", "check_run", "rerequested", RERUN) is False
    assert state.deliveries.record("guid-3", "check_suite", None, RERUN) is False
    assert state.deliveries.duplicate_of("guid-2", RERUN) == "guid-1"
    # The id itself repeating (GitHub's redelivery) is no replayed body.
    assert state.deliveries.record("guid-1", "check_run", "rerequested", RERUN) is False
    assert state.deliveries.duplicate_of("guid-1", RERUN) is None
    assert state.deliveries.duplicate_of("guid-9", b"{}") is None
    # Only the first is there to be acted on.
    assert [d.delivery_id for d in state.deliveries.orphaned([])] == ["guid-1"]
    assert state.deliveries.record("guid-4", "check_run", "rerequested", RERUN + b"\n") is True


def test_the_body_hash_is_kept_as_long_as_the_id(state: State) -> None:
    state.deliveries.record("old", "push", None, RERUN)
    state.deliveries.processed("old")
    state.deliveries.forget_before(time.time() - 3600)  # it is not that old
    assert state.deliveries.record("new", "push", None, RERUN) is False
    # Once GitHub can no longer redeliver it, id and hash go together.
    state.deliveries.forget_before(float("inf"))
    assert state.deliveries.record("new", "push", None, RERUN) is True


def test_a_delivery_not_yet_acted_on_is_never_forgotten(state: State) -> None:
    state.deliveries.record("pending", "push", None, RERUN)
    state.deliveries.forget_before(float("inf"))
    assert state.deliveries.record("again", "push", None, RERUN) is False


def test_the_same_body_sent_at_once_by_many_is_kept_once(
    open_db: Callable[[], Database], state: State
) -> None:
    """Several web processes (connections) get the replay at the same moment: one wins."""
    stores = [State.on(open_db()) for _ in range(6)]
    results: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def record(n: int, own: State) -> None:
        barrier.wait()
        results.append(own.deliveries.record(f"guid-{n}", "check_run", "rerequested", RERUN))

    threads = [threading.Thread(target=record, args=(n, s)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for own in stores:
        own.close()
    assert sorted(results) == [False] * 5 + [True]
    assert len(state.deliveries.orphaned([])) == 1


def test_body_digest_is_sha256_hex() -> None:
    assert body_digest(b"Hello, World!") == (
        "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"
    )


# -- installations Conveyor refused ------------------------------------------------------------


def test_the_newest_delivery_s_time_is_known(state: State) -> None:
    assert state.deliveries.last_received() is None
    before = time.time()
    state.deliveries.record("guid-1", "push", None, b"{}")
    received = state.deliveries.last_received()
    assert received is not None
    assert before - 1 <= received <= time.time() + 1
