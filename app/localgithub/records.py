"""The records the emulator's world is made of: accounts, apps, installations, tokens,
repositories, pull requests, issues, comments and reactions, check suites and check runs.

They are mutable and stay inside the emulator (state.World holds them); what it hands out
are the frozen values of models.py. Branch protection and rulesets have their records in
protection_records.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from app.localgithub.models import Annotation, CheckRunAction, GitHubApp

COMPLETED = "completed"


# Events an app only receives while its installation holds this permission. (The webhook
# docs: "To subscribe to this event, a GitHub App must have at least read-level access for
# the 'Issues' repository permission" — for comments on pull requests as well.)
EVENT_PERMISSIONS = {"issue_comment": "issues"}


@dataclass
class Account:
    login: str
    id: int
    type: str  # "User" or "Organization"


@dataclass
class AppRecord:
    app: GitHubApp
    public_key: RSAPublicKey
    hook_id: int
    permissions: dict[str, str]
    events: tuple[str, ...]
    created_at: datetime

    @property
    def id(self) -> int:
        return self.app.id

    def subscribed(self, event: str) -> bool:
        # Apps with the checks permission get check_suite and check_run whether or not they
        # ticked them; installation events reach every app.
        if event in ("installation", "installation_repositories"):
            return True
        if event in ("check_suite", "check_run") and "checks" in self.permissions:
            return True
        return event in self.events

    def receives(self, event: str, installation: InstallationRecord) -> bool:
        """Subscribed, and the installation holds the permission the event needs: GitHub
        sends issue_comment only to apps with (at least) Issues read access."""
        if not self.subscribed(event):
            return False
        needed = EVENT_PERMISSIONS.get(event)
        return needed is None or needed in installation.permissions


@dataclass
class InstallationRecord:
    id: int
    app_id: int
    account: Account
    repo_ids: set[int]
    permissions: dict[str, str]
    created_at: datetime
    deleted: bool = False


@dataclass
class TokenRecord:
    token: str
    installation_id: int
    app_id: int
    expires_at: float
    permissions: dict[str, str]
    repo_ids: frozenset[int] | None  # None: whatever the installation can reach at call time


@dataclass
class RepoRecord:
    id: int
    owner: Account
    name: str
    bare_path: Path
    default_branch: str
    created_at: datetime
    pushed_at: datetime
    fork: bool = False
    parent_id: int | None = None
    created_installation_id: int | None = None
    private: bool = True
    next_number: int = 1
    # Who may do what, beyond the owner (lowercase login -> admin, maintain, write, triage or
    # read): what `GET .../collaborators/{username}/permission` answers from.
    collaborators: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass
class PullRecord:
    id: int
    number: int
    base_repo_id: int
    head_repo_id: int
    head_ref: str
    base_ref: str
    head_sha: str
    title: str
    body: str
    author: Account
    state: str
    created_at: datetime
    updated_at: datetime
    base_sha: str
    closed_at: datetime | None = None
    merge_commit_sha: str | None = None
    commits: int = 0
    additions: int = 0
    deletions: int = 0
    changed_files: int = 0
    # A pull request is also an issue, with an id of its own (comments hang off the issue).
    issue_id: int = 0
    # Whether the head contains the base branch's tip ("up to date", for strict checks).
    up_to_date: bool = True
    merged_at: datetime | None = None
    merged_by: Account | None = None


@dataclass
class IssueRecord:
    id: int
    number: int
    repo_id: int
    title: str
    body: str
    author: Account
    state: str
    created_at: datetime
    updated_at: datetime


@dataclass
class CommentRecord:
    id: int
    repo_id: int
    number: int  # of the issue or pull request
    body: str
    author: Account
    author_association: str
    created_at: datetime
    updated_at: datetime
    app_id: int | None = None  # set when an app posted it (performed_via_github_app)
    reactions: list[ReactionRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ReactionRecord:
    id: int
    content: str  # +1, -1, laugh, confused, heart, hooray, rocket, eyes
    user: Account
    created_at: datetime


@dataclass
class SuiteRecord:
    id: int
    app_id: int
    repo_id: int
    head_sha: str
    head_branch: str | None
    before: str | None
    after: str | None
    created_at: datetime
    updated_at: datetime
    # Set by a rerequest: GitHub shows the suite queued with no conclusion until the app
    # touches one of its runs again.
    reset: bool = False
    announced_completed: bool = False


@dataclass
class RunRecord:
    id: int
    app_id: int
    repo_id: int
    suite_id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    details_url: str | None
    external_id: str | None
    output_title: str | None = None
    output_summary: str | None = None
    output_text: str | None = None
    images: list[dict[str, str]] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    actions: list[CheckRunAction] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
