"""Webhook bodies, as GitHub sends them for each event the emulator emits.

Each body starts from GitHub's own example for the event (payloads/*.json, see SOURCES.md)
so that every key a real delivery has is there, and then every value that means something is
overwritten with the emulator's real state. Nested objects that the examples fill with
sample people or repositories are rebuilt (json_*.py), so nothing from the samples leaks
through as if it were real.
"""

from __future__ import annotations

from app.localgithub.gitcmd import CommitInfo
from app.localgithub.json_base import JsonObject, template
from app.localgithub.json_checks import CheckJson
from app.localgithub.records import (
    Account,
    CommentRecord,
    InstallationRecord,
    PullRecord,
    RepoRecord,
    RunRecord,
    SuiteRecord,
)


class PayloadBuilder(CheckJson):
    """Every JSON object the emulator shows (see json_base.py), and the webhook bodies."""

    def push_event(
        self,
        repo: RepoRecord,
        installation: InstallationRecord,
        sender: Account,
        *,
        ref: str,
        before: str,
        after: str,
        created: bool,
        forced: bool,
        commits: list[CommitInfo],
        head: CommitInfo | None,
    ) -> JsonObject:
        """A push; `head` None means the ref was deleted (`after` is all zeros)."""
        payload = template("push.with-new-branch")
        html = f"{self.base}/{repo.full_name}"
        if created:
            compare = f"{html}/commit/{after[:12]}"
        elif head is None:
            compare = f"{html}/compare/{before[:12]}...000000000000"
        else:
            compare = f"{html}/compare/{before[:12]}...{after[:12]}"
        payload.update(
            {
                "ref": ref,
                "before": before,
                "after": after,
                "repository": self.repository(repo, payload["repository"]),
                "pusher": {"name": sender.login, "email": None},
                "created": created,
                "deleted": head is None,
                "forced": forced,
                "base_ref": None,
                "compare": compare,
                "commits": [self.push_commit(repo, info) for info in commits],
                "head_commit": self.push_commit(repo, head) if head is not None else None,
            }
        )
        self.add_context(payload, repo, installation, sender)
        return payload

    def check_suite_event(
        self, action: str, suite: SuiteRecord, installation: InstallationRecord, sender: Account
    ) -> JsonObject:
        payload = template(f"check_suite.{action}")
        repo = self.world.repos[suite.repo_id]
        payload["action"] = action
        payload["check_suite"] = self.check_suite(suite)
        payload["repository"] = self.repository(repo, payload["repository"])
        self.add_context(payload, repo, installation, sender)
        return payload

    def check_run_event(
        self,
        action: str,
        run: RunRecord,
        installation: InstallationRecord,
        sender: Account,
        *,
        requested_action: str | None = None,
    ) -> JsonObject:
        payload = template(f"check_run.{action}")
        repo = self.world.repos[run.repo_id]
        payload["action"] = action
        payload["check_run"] = self.check_run(run, full_suite=True)
        payload["repository"] = self.repository(repo, payload["repository"])
        if requested_action is not None:
            payload["requested_action"] = {"identifier": requested_action}
        else:
            payload.pop("requested_action", None)
        self.add_context(payload, repo, installation, sender)
        return payload

    def pull_request_event(
        self,
        action: str,
        pr: PullRecord,
        installation: InstallationRecord,
        sender: Account,
        *,
        before: str | None = None,
        after: str | None = None,
    ) -> JsonObject:
        payload = template(f"pull_request.{action}")
        repo = self.world.repos[pr.base_repo_id]
        payload["action"] = action
        payload["number"] = pr.number
        payload["pull_request"] = self.pull_request(pr)
        payload["repository"] = self.repository(repo, payload["repository"])
        if action == "synchronize":
            payload["before"] = before
            payload["after"] = after
        self.add_context(payload, repo, installation, sender)
        return payload

    def issue_comment_event(
        self,
        action: str,
        comment: CommentRecord,
        installation: InstallationRecord,
        sender: Account,
    ) -> JsonObject:
        payload = template(f"issue_comment.{action}")
        repo = self.world.repos[comment.repo_id]
        payload["action"] = action
        payload["issue"] = self.issue_of(repo.id, comment.number)
        payload["comment"] = self.comment(comment)
        payload["repository"] = self.repository(repo, payload["repository"])
        self.add_context(payload, repo, installation, sender)
        return payload

    def installation_event(
        self, action: str, installation: InstallationRecord, sender: Account
    ) -> JsonObject:
        payload = template(f"installation.{action}")
        payload["action"] = action
        payload["installation"] = self.installation(
            installation, template_obj=payload["installation"]
        )
        payload["repositories"] = [
            self.repo_short(self.world.repos[repo_id]) for repo_id in sorted(installation.repo_ids)
        ]
        payload["requester"] = None
        payload["sender"] = self.user(sender)
        return payload

    def installation_repositories_event(
        self,
        action: str,
        installation: InstallationRecord,
        repos: list[RepoRecord],
        sender: Account,
    ) -> JsonObject:
        payload = template(f"installation_repositories.{action}")
        payload["action"] = action
        payload["installation"] = self.installation(
            installation, template_obj=payload["installation"]
        )
        payload["repository_selection"] = "selected"
        shorts = [self.repo_short(repo) for repo in repos]
        payload["repositories_added"] = shorts if action == "added" else []
        payload["repositories_removed"] = shorts if action == "removed" else []
        payload["requester"] = self.user(sender)
        payload["sender"] = self.user(sender)
        return payload
