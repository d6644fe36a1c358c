"""app/store.py on a real SQLite file and a real PostgreSQL: deliveries deduplicated on their
body as well as their id (an old database gains the column), and the installations Conveyor
refused (ALLOWED_OWNERS)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.database import Database, open_database
from app.queue import JobQueue
from app.run_request import RunRequest
from app.store import Store, body_digest


@pytest.fixture
def open_db(database_url: str | None, tmp_path: Path) -> Callable[[], Database]:
    return lambda: open_database(database_url, tmp_path / "data")


@pytest.fixture
def store(open_db: Callable[[], Database]) -> Iterator[Store]:
    opened = Store(open_db())
    yield opened
    opened.close()


RERUN = b'{"action": "rerequested", "check_run": {"id": 4}, "installation": {"id": 1}}'


# -- deliveries --------------------------------------------------------------------------------


def test_a_body_seen_before_under_another_id_is_refused(store: Store) -> None:
    assert store.record_delivery("guid-1", "check_run", "rerequested", RERUN) is True
    assert store.record_delivery("guid-2", "check_run", "rerequested", RERUN) is False
    assert store.record_delivery("guid-3", "check_suite", None, RERUN) is False
    assert store.duplicate_of("guid-2", RERUN) == "guid-1"
    # The id itself repeating (GitHub's redelivery) is no replayed body.
    assert store.record_delivery("guid-1", "check_run", "rerequested", RERUN) is False
    assert store.duplicate_of("guid-1", RERUN) is None
    assert store.duplicate_of("guid-9", b"{}") is None
    # Only the first is there to be acted on.
    assert [d.delivery_id for d in store.orphaned_deliveries([])] == ["guid-1"]
    assert store.record_delivery("guid-4", "check_run", "rerequested", RERUN + b"\n") is True


def test_the_body_hash_is_kept_as_long_as_the_id(store: Store) -> None:
    store.record_delivery("old", "push", None, RERUN)
    store.delivery_processed("old")
    store.forget_deliveries_before(time.time() - 3600)  # it is not that old
    assert store.record_delivery("new", "push", None, RERUN) is False
    # Once GitHub can no longer redeliver it, id and hash go together.
    store.forget_deliveries_before(float("inf"))
    assert store.record_delivery("new", "push", None, RERUN) is True


def test_a_delivery_not_yet_acted_on_is_never_forgotten(store: Store) -> None:
    store.record_delivery("pending", "push", None, RERUN)
    store.forget_deliveries_before(float("inf"))
    assert store.record_delivery("again", "push", None, RERUN) is False


def test_the_same_body_sent_at_once_by_many_is_kept_once(
    open_db: Callable[[], Database], store: Store
) -> None:
    """Several web processes (connections) get the replay at the same moment: one wins."""
    stores = [Store(open_db()) for _ in range(6)]
    results: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def record(n: int, own: Store) -> None:
        barrier.wait()
        results.append(own.record_delivery(f"guid-{n}", "check_run", "rerequested", RERUN))

    threads = [threading.Thread(target=record, args=(n, s)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for own in stores:
        own.close()
    assert sorted(results) == [False] * 5 + [True]
    assert len(store.orphaned_deliveries([])) == 1


def test_an_older_database_gains_the_body_column_and_its_index(
    open_db: Callable[[], Database],
) -> None:
    # The deliveries table as versions before the body hash made it, with a delivery in it.
    db = open_db()
    db.create_schema(
        "CREATE TABLE deliveries (delivery_id TEXT PRIMARY KEY, event TEXT NOT NULL,"
        " action TEXT, body {blob} NOT NULL, received_at DOUBLE PRECISION NOT NULL,"
        " processed_at DOUBLE PRECISION, error TEXT, received_by TEXT);"
        "CREATE TABLE installations (id BIGINT PRIMARY KEY, account TEXT NOT NULL,"
        " active BIGINT NOT NULL, repositories TEXT NOT NULL,"
        " updated_at DOUBLE PRECISION NOT NULL);"
    )
    db.execute(
        "INSERT INTO deliveries (delivery_id, event, body, received_at) VALUES (?, ?, ?, ?)",
        ("before", "push", b"{}", time.time()),
    )
    db.execute(
        "INSERT INTO installations (id, account, active, repositories, updated_at)"
        " VALUES (5, 'octo-org', 1, '[]', 0)"
    )
    db.close()
    store = Store(open_db())
    try:
        assert {"body_sha256"} <= store.db.columns("deliveries")
        assert {"refused_at"} <= store.db.columns("installations")
        # Rows from before have no hash, and do not stand in each other's way.
        assert store.record_delivery("before", "push", None, b"{}") is False
        assert store.record_delivery("after", "push", None, b"{}") is True
        assert store.record_delivery("again", "push", None, b"{}") is False
        assert store.installation_account(5) == "octo-org"
        assert store.refused_installations() == 0
    finally:
        store.close()
    Store(open_db()).close()  # and the migration is done once


def test_body_digest_is_sha256_hex() -> None:
    assert body_digest(b"Hello, World!") == (
        "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"
    )


# -- installations Conveyor refused ------------------------------------------------------------


def test_an_installation_is_refused_once(store: Store) -> None:
    assert store.claim_refusal(7, "mallory", retry_after=600) is True
    assert store.claim_refusal(7, "mallory", retry_after=600) is False  # tried just now
    assert store.installation(7) == ("mallory", True, [])
    assert store.refused_installations() == 1
    store.installation_removed(7)
    assert store.installation(7) == ("mallory", False, [])
    # Gone: never again, however long ago it was tried.
    assert store.claim_refusal(7, "mallory", retry_after=0) is False
    assert store.refused_installations() == 1


def test_a_failed_uninstall_is_tried_again_only_after_a_while(store: Store) -> None:
    assert store.claim_refusal(8, "mallory", retry_after=600) is True
    assert store.claim_refusal(8, "mallory", retry_after=600) is False
    assert store.claim_refusal(8, "mallory", retry_after=0) is True
    assert store.refused_installations() == 1


def test_a_known_installation_keeps_its_repositories_when_refused(store: Store) -> None:
    store.record_installation(9, "mallory", active=True, added=["mallory/evil"])
    assert store.claim_refusal(9, "mallory", retry_after=600) is True
    assert store.installation(9) == ("mallory", True, ["mallory/evil"])


def test_the_account_of_an_installation_is_remembered(store: Store) -> None:
    assert store.installation_account(5) is None
    store.remember_account(5, "Octo-Org")
    assert store.installation_account(5) == "Octo-Org"
    assert store.installation(5) == ("Octo-Org", True, [])
    # A lookup is GitHub's latest word (an account can be renamed); the rest is left alone.
    store.record_installation(6, "octo-org", active=False, added=["octo-org/a"])
    store.remember_account(6, "octo-inc")
    assert store.installation(6) == ("octo-inc", False, ["octo-org/a"])
    # An event that named no account leaves the looked-up one.
    store.record_installation(5, "", active=True, added=["octo-org/b"])
    assert store.installation_account(5) == "Octo-Org"
    assert store.installation_refused(5) is False
    store.claim_refusal(5, "Octo-Org", retry_after=600)
    assert store.installation_refused(5) is True


def test_an_older_database_s_logs_gain_the_attempt_and_stay_readable(
    open_db: Callable[[], Database],
) -> None:
    # job_logs as versions before attempts made it, with a finished job's log in it.
    db = open_db()
    db.create_schema(
        "CREATE TABLE job_logs (job_id BIGINT NOT NULL, start BIGINT NOT NULL,"
        " data {blob} NOT NULL, PRIMARY KEY (job_id, start));"
    )
    db.execute("INSERT INTO job_logs (job_id, start, data) VALUES (1, 0, ?)", (b"old log\n",))
    db.close()
    store = Store(open_db())
    try:
        assert {"attempt"} <= store.db.columns("job_logs")
        assert {"interrupted"} <= store.db.columns("jobs")
        queue = JobQueue(store)
        enqueued = queue.enqueue(
            RunRequest(
                repo_full_name="octo/hello",
                repo_id=1,
                installation_id=2,
                clone_url="https://github.com/octo/hello.git",
                head_sha="a" * 40,
                fetch_ref="refs/heads/main",
                lane="1:branch:main",
                reason="push",
                head_branch="main",
            ),
            "tests",
        ).job
        assert enqueued is not None
        assert enqueued.id == 1
        assert queue.read_log(1) == (b"old log\n", 8)
    finally:
        store.close()
