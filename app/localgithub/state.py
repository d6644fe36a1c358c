"""The emulator's mutable world: accounts, apps, installations, repositories, pull requests,
check suites and check runs, plus the id counters. Everything here runs on the event loop's
thread; nothing is shared with other threads.

Each kind of object draws ids from its own range so that an id passed where another kind was
expected (a suite id used as a run id, an app id as an installation id) finds nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from app.localgithub.gitcmd import CommitInfo
from app.localgithub.models import (
    Annotation,
    CheckRun,
    CheckRunAction,
    CheckRunOutput,
    GitHubApp,
    Issue,
    IssueComment,
    PullRequest,
    Repository,
)

COMPLETED = "completed"

# How GitHub ranks run conclusions when it sums up a suite: the first one present wins.
SUITE_CONCLUSION_PRIORITY = (
    "action_required",
    "cancelled",
    "timed_out",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
)


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


def _counter(start: int) -> Iterator[int]:
    return itertools.count(start)


class World:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.base_url: str | None = None
        self.accounts: dict[str, Account] = {}
        self.apps: dict[int, AppRecord] = {}
        self.installations: dict[int, InstallationRecord] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.repos: dict[int, RepoRecord] = {}
        self.pulls: dict[int, PullRecord] = {}
        self.suites: dict[int, SuiteRecord] = {}
        self.runs: dict[int, RunRecord] = {}
        self.issues: dict[int, IssueRecord] = {}
        self.comments: dict[int, CommentRecord] = {}
        self.protections: dict[tuple[int, str], ProtectionRecord] = {}
        self.rulesets: dict[int, RulesetRecord] = {}
        # Commit metadata read from git once, for payloads built later without awaiting git.
        self.commits: dict[tuple[int, str], CommitInfo] = {}
        self._account_ids = _counter(21_000)
        self._app_ids = _counter(1000)
        self._hook_ids = _counter(470_000)
        self._installation_ids = _counter(40_000_001)
        self._repo_ids = _counter(700_000_001)
        self._pull_ids = _counter(900_000_001)
        self._suite_ids = _counter(3_000_000_001)
        self._run_ids = _counter(5_000_000_001)
        self._issue_ids = _counter(2_000_000_001)
        self._comment_ids = _counter(1_500_000_001)
        self._reaction_ids = _counter(160_000_001)
        self._ruleset_ids = _counter(7_100_001)

    # -- ids ---------------------------------------------------------------------------

    def next_app_id(self) -> int:
        return next(self._app_ids)

    def next_hook_id(self) -> int:
        return next(self._hook_ids)

    def next_installation_id(self) -> int:
        return next(self._installation_ids)

    def next_repo_id(self) -> int:
        return next(self._repo_ids)

    def next_pull_id(self) -> int:
        return next(self._pull_ids)

    def next_suite_id(self) -> int:
        return next(self._suite_ids)

    def next_run_id(self) -> int:
        return next(self._run_ids)

    def next_issue_id(self) -> int:
        return next(self._issue_ids)

    def next_reaction_id(self) -> int:
        return next(self._reaction_ids)

    def next_comment_id(self) -> int:
        return next(self._comment_ids)

    def next_ruleset_id(self) -> int:
        return next(self._ruleset_ids)

    @property
    def url(self) -> str:
        if self.base_url is None:
            raise RuntimeError("the local GitHub is not started; await gh.start() first")
        return self.base_url

    # -- lookups -------------------------------------------------------------------------

    def account(self, login: str, *, kind: str = "User") -> Account:
        """The account named `login`, created on first mention (GitHub logins are
        case-insensitive)."""
        key = login.lower()
        found = self.accounts.get(key)
        if found is None:
            found = Account(login=login, id=next(self._account_ids), type=kind)
            self.accounts[key] = found
        return found

    def find_repo(self, owner: str, name: str) -> RepoRecord | None:
        for repo in self.repos.values():
            if repo.owner.login.lower() == owner.lower() and repo.name.lower() == name.lower():
                return repo
        return None

    def installations_of_repo(self, repo_id: int) -> list[InstallationRecord]:
        return [
            inst
            for inst in self.installations.values()
            if not inst.deleted and repo_id in inst.repo_ids
        ]

    def installation_of_app_for_repo(self, app_id: int, repo_id: int) -> InstallationRecord | None:
        for inst in self.installations_of_repo(repo_id):
            if inst.app_id == app_id:
                return inst
        return None

    def suite_for(self, app_id: int, repo_id: int, head_sha: str) -> SuiteRecord | None:
        for suite in self.suites.values():
            if suite.app_id == app_id and suite.repo_id == repo_id and suite.head_sha == head_sha:
                return suite
        return None

    def runs_of_suite(self, suite_id: int) -> list[RunRecord]:
        return [run for run in self.runs.values() if run.suite_id == suite_id]

    def open_same_repo_pulls_at(self, repo_id: int, sha: str) -> list[PullRecord]:
        """The pull requests GitHub lists in a check suite/run's `pull_requests`: open, whose
        head is this sha in this same repository. Fork PRs never appear there."""
        return [
            pr
            for pr in self.pulls.values()
            if pr.state == "open"
            and pr.base_repo_id == repo_id
            and pr.head_repo_id == repo_id
            and pr.head_sha == sha
        ]

    def pulls_of_repo(self, repo_id: int) -> list[PullRecord]:
        return sorted(
            (pr for pr in self.pulls.values() if pr.base_repo_id == repo_id),
            key=lambda pr: pr.number,
        )

    def find_pull(self, repo_id: int, number: int) -> PullRecord | None:
        for pr in self.pulls.values():
            if pr.base_repo_id == repo_id and pr.number == number:
                return pr
        return None

    def find_issue(self, repo_id: int, number: int) -> IssueRecord | None:
        for issue in self.issues.values():
            if issue.repo_id == repo_id and issue.number == number:
                return issue
        return None

    def comments_on(self, repo_id: int, number: int) -> list[CommentRecord]:
        return sorted(
            (c for c in self.comments.values() if c.repo_id == repo_id and c.number == number),
            key=lambda c: c.id,
        )

    def rulesets_of_repo(self, repo_id: int) -> list[RulesetRecord]:
        return sorted(
            (r for r in self.rulesets.values() if r.repo_id == repo_id), key=lambda r: r.id
        )

    # -- derived state -------------------------------------------------------------------

    def suite_status(self, suite: SuiteRecord) -> tuple[str, str | None]:
        runs = self.runs_of_suite(suite.id)
        if suite.reset or not runs:
            return "queued", None
        if any(run.status != COMPLETED for run in runs):
            if any(run.status == "in_progress" for run in runs):
                return "in_progress", None
            return "queued", None
        conclusions = {run.conclusion for run in runs}
        for candidate in SUITE_CONCLUSION_PRIORITY:
            if candidate in conclusions:
                return COMPLETED, candidate
        return COMPLETED, None

    # -- snapshots -----------------------------------------------------------------------

    def clone_url(self, repo: RepoRecord) -> str:
        base = self.base_url or "http://localgithub.invalid"
        return f"{base}/{repo.full_name}.git"

    def repository(self, repo: RepoRecord) -> Repository:
        parent = self.repository(self.repos[repo.parent_id]) if repo.parent_id else None
        return Repository(
            id=repo.id,
            owner=repo.owner.login,
            name=repo.name,
            full_name=repo.full_name,
            bare_path=repo.bare_path,
            clone_url=self.clone_url(repo),
            default_branch=repo.default_branch,
            installation_id=repo.created_installation_id,
            fork=repo.fork,
            parent=parent,
        )

    def pull_request(self, pr: PullRecord) -> PullRequest:
        return PullRequest(
            id=pr.id,
            number=pr.number,
            base_repo=self.repository(self.repos[pr.base_repo_id]),
            head_repo=self.repository(self.repos[pr.head_repo_id]),
            head_ref=pr.head_ref,
            base_ref=pr.base_ref,
            head_sha=pr.head_sha,
            state=pr.state,
            title=pr.title,
            author=pr.author.login,
            merged=pr.merged_at is not None,
            merge_commit_sha=pr.merge_commit_sha,
        )

    def issue(self, issue: IssueRecord) -> Issue:
        return Issue(
            id=issue.id,
            number=issue.number,
            repo=self.repository(self.repos[issue.repo_id]),
            title=issue.title,
            author=issue.author.login,
            state=issue.state,
        )

    def comment(self, comment: CommentRecord) -> IssueComment:
        return IssueComment(
            id=comment.id,
            number=comment.number,
            repo_full_name=self.repos[comment.repo_id].full_name,
            body=comment.body,
            author=comment.author.login,
            author_association=comment.author_association,
            app_id=comment.app_id,
            created_at=comment.created_at,
        )

    def check_run(self, run: RunRecord) -> CheckRun:
        return CheckRun(
            id=run.id,
            name=run.name,
            head_sha=run.head_sha,
            status=run.status,
            conclusion=run.conclusion,
            started_at=run.started_at,
            completed_at=run.completed_at,
            details_url=run.details_url,
            external_id=run.external_id,
            output=CheckRunOutput(
                title=run.output_title,
                summary=run.output_summary,
                text=run.output_text,
                images=tuple(dict(image) for image in run.images),
            ),
            annotations=tuple(run.annotations),
            actions=tuple(run.actions),
            app_id=run.app_id,
            check_suite_id=run.suite_id,
            repo_full_name=self.repos[run.repo_id].full_name,
            history=[dict(entry) for entry in run.history],
        )
