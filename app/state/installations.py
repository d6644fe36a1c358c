"""The GitHub App's installations (the `installations` table): on which account each is, which
repositories it covers, and whether Conveyor refused it (ALLOWED_OWNERS, see owners.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from app.state.database import Database


class Installations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        installation_id: int,
        account: str,
        *,
        active: bool,
        added: Iterable[str] = (),
        removed: Iterable[str] = (),
    ) -> None:
        with self.db.transaction():
            self.db.lock(installation_id)  # two web processes may change the same one
            row = self.db.execute(
                "SELECT repositories FROM installations WHERE id = ?", (installation_id,)
            ).fetchone()
            repos = set(json.loads(row["repositories"])) if row else set()
            repos |= set(added)
            repos -= set(removed)
            self.db.execute(
                "INSERT INTO installations (id, account, active, repositories, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET account = CASE"
                " WHEN excluded.account = '' THEN installations.account ELSE excluded.account END,"
                " active = excluded.active, repositories = excluded.repositories,"
                " updated_at = excluded.updated_at",
                (installation_id, account, int(active), json.dumps(sorted(repos)), time.time()),
            )

    def account(self, installation_id: int) -> str | None:
        """The login of the account the installation is on, if known."""
        row = self.db.execute(
            "SELECT account FROM installations WHERE id = ?", (installation_id,)
        ).fetchone()
        return str(row["account"]) if row is not None and row["account"] else None

    def remember_account(self, installation_id: int, account: str) -> None:
        """The installation's account as GitHub's API just named it (logins can change)."""
        self.db.execute(
            "INSERT INTO installations (id, account, active, repositories, updated_at)"
            " VALUES (?, ?, 1, '[]', ?) ON CONFLICT (id) DO UPDATE SET"
            " account = excluded.account, updated_at = excluded.updated_at",
            (installation_id, account, time.time()),
        )

    def refused(self, installation_id: int) -> bool:
        """Conveyor decided to leave this installation (ALLOWED_OWNERS)."""
        row = self.db.execute(
            "SELECT refused_at FROM installations WHERE id = ?", (installation_id,)
        ).fetchone()
        return row is not None and row["refused_at"] is not None

    def claim_refusal(self, installation_id: int, account: str, *, retry_after: float) -> bool:
        """Become the one to uninstall the app from an account not allowed: True once per
        installation (across processes), and again only when the last try is `retry_after`
        seconds old and did not end with the installation gone."""
        now = time.time()
        with self.db.transaction():
            self.db.lock(installation_id)
            row = self.db.execute(
                "SELECT active, refused_at FROM installations WHERE id = ?", (installation_id,)
            ).fetchone()
            if row is not None and row["refused_at"] is not None:
                done = not row["active"]  # uninstalled, or found gone
                if done or row["refused_at"] > now - retry_after:
                    return False
            self.db.execute(
                "INSERT INTO installations (id, account, active, repositories, updated_at,"
                " refused_at) VALUES (?, ?, 1, '[]', ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " account = excluded.account, refused_at = excluded.refused_at,"
                " updated_at = excluded.updated_at",
                (installation_id, account, now, now),
            )
        return True

    def removed(self, installation_id: int) -> None:
        """Conveyor uninstalled itself (or found the installation already gone)."""
        self.db.execute(
            "UPDATE installations SET active = 0, updated_at = ? WHERE id = ?",
            (time.time(), installation_id),
        )

    def refused_count(self) -> int:
        """How many installations Conveyor refused (and uninstalled itself from), ever."""
        [row] = self.db.execute(
            "SELECT COUNT(*) AS n FROM installations WHERE refused_at IS NOT NULL"
        ).fetchall()
        return int(row["n"])

    def active_count(self) -> int:
        """How many installations are in use now (the front page says so)."""
        [row] = self.db.execute(
            "SELECT COUNT(*) AS n FROM installations WHERE active = 1"
        ).fetchall()
        return int(row["n"])

    def get(self, installation_id: int) -> tuple[str, bool, list[str]] | None:
        row = self.db.execute(
            "SELECT account, active, repositories FROM installations WHERE id = ?",
            (installation_id,),
        ).fetchone()
        if row is None:
            return None
        return row["account"], bool(row["active"]), json.loads(row["repositories"])
