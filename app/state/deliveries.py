"""Webhook deliveries (the `deliveries` table): each kept before it is answered, so that none is
lost if its process dies, and none is acted on twice (a replay, or GitHub's redelivery)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

from app.state.database import Database
from app.state.presence import no_live_process


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    event: str
    body: bytes
    received_by: str | None = None  # the process that answered it


class Deliveries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        delivery_id: str,
        event: str,
        action: str | None,
        body: bytes,
        received_by: str | None = None,
    ) -> bool:
        """Keep a delivery before answering it; False when this id, or this very body, was seen
        before (a replay).

        Why the body too: a signed body stays valid for ever, and `X-GitHub-Delivery` is not
        signed, so whoever holds one (a proxy's log, a leaked request) could send it again under
        a new id, e.g. a `check_run` rerequested to run the check again.

        Does GitHub ever send two deliveries with identical bodies that must both be acted on?
        Its redelivery of a failed delivery reuses the delivery's GUID: a duplicate id, dropped
        anyway. Two happenings differ in the body: pushes in `before`/`after`, `head_commit`
        and the repository's `pushed_at`; a pull request's events in `updated_at` and the head;
        comments in their ids; installation changes in their ids, repositories or timestamps;
        a "Re-run" in the check suite, which GitHub resets to queued (`status`, `updated_at`)
        at each request, and in the run clicked (Conveyor's re-run is a new check run, so the
        next click is on another id). What would be left is the same button clicked twice with
        nothing changed in between, within a second: one run for both is what was meant.
        The hash lives in the delivery's row, so it is kept exactly as long as the id: until
        `forget_before` drops rows GitHub can no longer redeliver."""
        cursor = self.db.execute(
            "INSERT INTO deliveries (delivery_id, event, action, body, received_at, received_by,"
            " body_sha256) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (delivery_id, event, action, body, time.time(), received_by, body_digest(body)),
        )
        return cursor.rowcount == 1

    def duplicate_of(self, delivery_id: str, body: bytes) -> str | None:
        """The stored delivery that made `record` refuse this one: its id when the body
        is what repeats (a replay under a new id), None when the id itself does."""
        row = self.db.execute(
            "SELECT delivery_id FROM deliveries WHERE body_sha256 = ? AND delivery_id <> ?",
            (body_digest(body), delivery_id),
        ).fetchone()
        return None if row is None else str(row["delivery_id"])

    def last_received(self) -> float | None:
        """When the newest delivery arrived (the front page says so): None if none has."""
        [row] = self.db.execute("SELECT MAX(received_at) AS at FROM deliveries").fetchall()
        return None if row["at"] is None else float(row["at"])

    def processed(self, delivery_id: str, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE deliveries SET processed_at = ?, error = ? WHERE delivery_id = ?",
            (time.time(), error, delivery_id),
        )

    def orphaned(self, gone: Iterable[str]) -> list[Delivery]:
        """Deliveries not acted on whose receiver is not a live process (`no_live_process`;
        none recorded: an older version received them)."""
        orphaned, dead = no_live_process("received_by", gone)
        rows = self.db.execute(
            "SELECT delivery_id, event, body, received_by FROM deliveries"  # noqa: S608
            f" WHERE processed_at IS NULL AND {orphaned} ORDER BY received_at",
            dead,
        ).fetchall()
        return [
            Delivery(r["delivery_id"], r["event"], bytes(r["body"]), r["received_by"]) for r in rows
        ]

    def take(self, delivery_id: str, was: str | None, now: str) -> bool:
        """Become the process acting on a delivery whose receiver is gone; False: another did."""
        cursor = self.db.execute(
            "UPDATE deliveries SET received_by = ? WHERE delivery_id = ?"
            " AND processed_at IS NULL AND received_by IS NOT DISTINCT FROM ?",
            (now, delivery_id, was),
        )
        return cursor.rowcount == 1

    def forget_before(self, when: float) -> None:
        # Bodies are only needed until processed; ids are kept as long as GitHub may redeliver.
        self.db.execute(
            "DELETE FROM deliveries WHERE received_at < ? AND processed_at IS NOT NULL", (when,)
        )
