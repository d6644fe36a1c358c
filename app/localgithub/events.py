"""Which webhooks GitHub sends for a happening, and to whom.

An event goes to each app that is installed on the repository, subscribed to that event, holding
the permission the event needs (issue_comment: Issues) and having a webhook URL. `check_run`
created/completed reach every such app with the checks permission (so the service sees its own
runs' events); requested, rerequested and requested_action reach only the app that owns the run
or suite.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.localgithub.gitcmd import CommitInfo, commit_info
from app.localgithub.json_base import JsonObject
from app.localgithub.models import WebhookDelivery
from app.localgithub.payloads import PayloadBuilder
from app.localgithub.records import (
    Account,
    AppRecord,
    CommentRecord,
    InstallationRecord,
    PullRecord,
    RepoRecord,
    RunRecord,
    SuiteRecord,
)
from app.localgithub.state import World
from app.localgithub.webhooks import WebhookSender, encode


class Events:
    def __init__(self, world: World, builder: PayloadBuilder, sender: WebhookSender) -> None:
        self.world = world
        self.builder = builder
        self.sender = sender

    def bot(self, record: AppRecord) -> Account:
        """The bot account an app acts as (the `sender` of what it causes)."""
        return self.world.account(f"{record.app.slug}[bot]", kind="Bot")

    async def remember_commit(self, repo: RepoRecord, sha: str) -> CommitInfo | None:
        key = (repo.id, sha)
        if key not in self.world.commits:
            try:
                self.world.commits[key] = await commit_info(Path(repo.bare_path), sha)
            except RuntimeError:
                return None
        return self.world.commits[key]

    def _emit(
        self,
        app_id: int,
        event: str,
        payload: JsonObject,
        installation: InstallationRecord | None,
        repo: RepoRecord | None,
    ) -> asyncio.Future[WebhookDelivery] | None:
        record = self.world.apps[app_id]
        wanted = (
            record.receives(event, installation)
            if installation is not None
            else record.subscribed(event)
        )
        if not wanted or not self.sender.has_webhook(app_id):
            return None
        action = payload.get("action")
        return self.sender.submit(
            app_id,
            event,
            encode(payload),
            action=action if isinstance(action, str) else None,
            installation_id=installation.id if installation else None,
            repository_id=repo.id if repo else None,
        )

    def _repo_installations(self, repo: RepoRecord) -> list[InstallationRecord]:
        return self.world.installations_of_repo(repo.id)

    async def push(
        self,
        repo: RepoRecord,
        sender: Account,
        *,
        ref: str,
        before: str,
        after: str,
        created: bool,
        forced: bool,
        commits: list[CommitInfo],
        head: CommitInfo | None,
    ) -> list[asyncio.Future[WebhookDelivery]]:
        pending = []
        for installation in self._repo_installations(repo):
            payload = self.builder.push_event(
                repo,
                installation,
                sender,
                ref=ref,
                before=before,
                after=after,
                created=created,
                forced=forced,
                commits=commits,
                head=head,
            )
            future = self._emit(installation.app_id, "push", payload, installation, repo)
            if future is not None:
                pending.append(future)
        return pending

    async def check_suite(
        self, action: str, suite: SuiteRecord, sender: Account
    ) -> asyncio.Future[WebhookDelivery] | None:
        repo = self.world.repos[suite.repo_id]
        installation = self.world.installation_of_app_for_repo(suite.app_id, repo.id)
        if installation is None:
            return None
        await self.remember_commit(repo, suite.head_sha)
        payload = self.builder.check_suite_event(action, suite, installation, sender)
        return self._emit(suite.app_id, "check_suite", payload, installation, repo)

    async def check_run(
        self,
        action: str,
        run: RunRecord,
        sender: Account,
        *,
        requested_action: str | None = None,
    ) -> list[asyncio.Future[WebhookDelivery]]:
        repo = self.world.repos[run.repo_id]
        await self.remember_commit(repo, run.head_sha)
        if action in ("created", "completed"):
            installations = [
                installation
                for installation in self._repo_installations(repo)
                if "checks" in installation.permissions
            ]
        else:
            owner = self.world.installation_of_app_for_repo(run.app_id, repo.id)
            installations = [owner] if owner else []
        pending = []
        for installation in installations:
            payload = self.builder.check_run_event(
                action, run, installation, sender, requested_action=requested_action
            )
            future = self._emit(installation.app_id, "check_run", payload, installation, repo)
            if future is not None:
                pending.append(future)
        return pending

    async def pull_request(
        self,
        action: str,
        pr: PullRecord,
        sender: Account,
        *,
        before: str | None = None,
        after: str | None = None,
    ) -> list[asyncio.Future[WebhookDelivery]]:
        repo = self.world.repos[pr.base_repo_id]
        pending = []
        for installation in self._repo_installations(repo):
            payload = self.builder.pull_request_event(
                action, pr, installation, sender, before=before, after=after
            )
            future = self._emit(installation.app_id, "pull_request", payload, installation, repo)
            if future is not None:
                pending.append(future)
        return pending

    def issue_comment(
        self, action: str, comment: CommentRecord, sender: Account
    ) -> list[asyncio.Future[WebhookDelivery]]:
        """A comment on an issue or pull request, to every app installed on the repository
        that subscribed to issue_comment and may read issues (its own comments included)."""
        repo = self.world.repos[comment.repo_id]
        pending = []
        for installation in self._repo_installations(repo):
            payload = self.builder.issue_comment_event(action, comment, installation, sender)
            future = self._emit(installation.app_id, "issue_comment", payload, installation, repo)
            if future is not None:
                pending.append(future)
        return pending

    def installation(
        self, action: str, installation: InstallationRecord, sender: Account
    ) -> asyncio.Future[WebhookDelivery] | None:
        payload = self.builder.installation_event(action, installation, sender)
        return self._emit(installation.app_id, "installation", payload, installation, None)

    def installation_repositories(
        self,
        action: str,
        installation: InstallationRecord,
        repos: list[RepoRecord],
        sender: Account,
    ) -> asyncio.Future[WebhookDelivery] | None:
        payload = self.builder.installation_repositories_event(action, installation, repos, sender)
        return self._emit(
            installation.app_id, "installation_repositories", payload, installation, None
        )
