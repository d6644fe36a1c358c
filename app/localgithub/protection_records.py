"""The records of branch protection (classic, one branch at a time) and repository rulesets:
what an admin set, as the emulator keeps it. Reading request bodies into them is
protection.py's and rulesets.py's job; what they demand of a merge is merge_gate.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class RequiredCheck:
    context: str
    app_id: int | None  # None: any source may satisfy it


@dataclass
class StatusChecksRecord:
    strict: bool
    checks: list[RequiredCheck]


@dataclass
class Allowances:
    """Who a protection setting names: user logins, team slugs, app slugs."""

    users: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)


@dataclass
class ReviewsRecord:
    dismiss_stale_reviews: bool = False
    require_code_owner_reviews: bool = False
    required_approving_review_count: int = 0
    require_last_push_approval: bool = False
    dismissal_restrictions: Allowances | None = None
    bypass_pull_request_allowances: Allowances | None = None


# The on/off settings of classic branch protection, with GitHub's defaults.
PROTECTION_FLAGS = {
    "required_linear_history": False,
    "allow_force_pushes": False,
    "allow_deletions": False,
    "block_creations": False,
    "required_conversation_resolution": False,
    "lock_branch": False,
    "allow_fork_syncing": False,
}


@dataclass
class ProtectionRecord:
    """Classic branch protection of one branch (the REST API protects branch names, not
    patterns)."""

    repo_id: int
    branch: str
    status_checks: StatusChecksRecord | None
    enforce_admins: bool
    reviews: ReviewsRecord | None
    restrictions: Allowances | None
    flags: dict[str, bool]
    required_signatures: bool = False


@dataclass
class RulesetRecord:
    id: int
    repo_id: int
    name: str
    target: str
    enforcement: str
    bypass_actors: list[dict[str, Any]]
    conditions: dict[str, Any]
    rules: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
