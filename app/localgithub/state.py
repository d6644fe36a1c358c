"""The emulator's mutable world: every record by kind (records.py, protection_records.py),
the id counters, the look-ups across them, and the frozen snapshots (models.py) handed out.
Everything here runs on the event loop's thread; nothing is shared with other threads.

Each kind of object draws ids from its own range so that an id passed where another kind was
expected (a suite id used as a run id, an app id as an installation id) finds nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from app.localgithub.gitcmd import CommitInfo
from app.localgithub.models import (
    CheckRun,
    CheckRunOutput,
    Issue,
    IssueComment,
    PullRequest,
    Repository,
)
from app.localgithub.protection_records import ProtectionRecord, RulesetRecord
from app.localgithub.records import (
    COMPLETED,
    Account,
    AppRecord,
    CommentRecord,
    InstallationRecord,
    IssueRecord,
    PullRecord,
    RepoRecord,
    RunRecord,
    SuiteRecord,
    TokenRecord,
)

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
