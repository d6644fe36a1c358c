"""JSON objects as GitHub renders them, for webhook bodies and REST answers.

Webhook bodies start from GitHub's own example for the event (payloads/*.json, see
SOURCES.md) so that every key a real delivery has is there, and then every value that means
something is overwritten with the emulator's real state. Nested objects that the examples
fill with sample people or repositories are rebuilt, so nothing from the samples leaks
through as if it were real.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from app.localgithub.gitcmd import CommitInfo, FileChange, LogEntry
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
from app.localgithub.timeutil import iso

JsonObject = dict[str, Any]


@cache
def _template_text(name: str) -> str:
    return (
        resources.files("app.localgithub").joinpath("payloads", f"{name}.json").read_text("utf-8")
    )


def template(name: str) -> JsonObject:
    """A fresh copy of GitHub's example payload `payloads/<name>.json`."""
    loaded: JsonObject = json.loads(_template_text(name))
    return loaded


def node_id(kind: str, number: int) -> str:
    # GitHub's legacy global node ids: base64 of "0<len>:<Type><id>".
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class PayloadBuilder:
    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def base(self) -> str:
        return self.world.url

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    # -- people and apps -------------------------------------------------------------------

    def user(self, account: Account) -> JsonObject:
        api = f"{self.base}/users/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": node_id(account.type, account.id),
            "avatar_url": f"{self.base}/avatars/u/{account.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.base}/{account.login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": account.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def organization(self, account: Account) -> JsonObject:
        api = f"{self.base}/orgs/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": node_id("Organization", account.id),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{self.base}/avatars/u/{account.id}?v=4",
            "description": None,
        }

    def app(self, record: AppRecord) -> JsonObject:
        app = record.app
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("App", app.id),
            "client_id": app.client_id,
            "owner": self.user(self.world.account(app.owner)),
            "name": app.name,
            "description": "",
            "external_url": app.external_url,
            "html_url": f"{self.base}/apps/{app.slug}",
            "created_at": iso(record.created_at),
            "updated_at": iso(record.created_at),
            "permissions": dict(record.permissions),
            "events": list(record.events),
        }

    def installation_ref(self, installation: InstallationRecord) -> JsonObject:
        return {
            "id": installation.id,
            "node_id": node_id("IntegrationInstallation", installation.id),
        }

    def installation(
        self, installation: InstallationRecord, *, template_obj: JsonObject | None = None
    ) -> JsonObject:
        record = self.world.apps[installation.app_id]
        stamp: Any = iso(installation.created_at)
        if template_obj is not None and isinstance(template_obj.get("created_at"), int):
            stamp = int(installation.created_at.timestamp())
        return {
            "id": installation.id,
            "client_id": record.app.client_id,
            "account": self.user(installation.account),
            "repository_selection": "selected",
            "access_tokens_url": f"{self.base}/app/installations/{installation.id}/access_tokens",
            "repositories_url": f"{self.base}/installation/repositories",
            "html_url": f"{self.base}/settings/installations/{installation.id}",
            "app_id": record.app.id,
            "app_slug": record.app.slug,
            "target_id": installation.account.id,
            "target_type": installation.account.type,
            "permissions": dict(installation.permissions),
            "events": list(record.events),
            "created_at": stamp,
            "updated_at": stamp,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    # -- repositories ----------------------------------------------------------------------

    def repo_short(self, repo: RepoRecord) -> JsonObject:
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": True,
        }

    def repo_ref(self, repo: RepoRecord) -> JsonObject:
        return {"id": repo.id, "url": f"{self.base}/repos/{repo.full_name}", "name": repo.name}

    def repository(self, repo: RepoRecord, shape: JsonObject | None = None) -> JsonObject:
        """A full repository object, keyed like `shape` (an example's repository object, whose
        quirks, such as push payloads' integer timestamps, are kept)."""
        if shape is None:
            shape = template("pull_request.opened")["repository"]
        old_full = str(shape["full_name"])
        old_owner = str(shape["owner"]["login"])
        text = json.dumps(shape)
        for old, new in (
            (f"https://api.github.com/repos/{old_full}", f"{self.base}/repos/{repo.full_name}"),
            (f"https://api.github.com/users/{old_owner}", f"{self.base}/users/{repo.owner.login}"),
            (f"https://github.com/{old_full}", f"{self.base}/{repo.full_name}"),
            (f"http://github.com/{old_full}", f"{self.base}/{repo.full_name}"),
            ("https://api.github.com", self.base),
        ):
            text = text.replace(old, new)
        obj: JsonObject = json.loads(text)
        owner = self.user(repo.owner)
        if "name" in shape["owner"]:
            # Push payloads describe the owner with a name and email as well.
            owner = {"name": repo.owner.login, "email": None, **owner}
        html = f"{self.base}/{repo.full_name}"
        forks = sum(1 for other in self.world.repos.values() if other.parent_id == repo.id)
        open_pulls = sum(
            1
            for pr in self.world.pulls.values()
            if pr.base_repo_id == repo.id and pr.state == "open"
        )
        int_stamps = isinstance(shape.get("created_at"), int)
        obj.update(
            {
                "id": repo.id,
                "node_id": node_id("Repository", repo.id),
                "name": repo.name,
                "full_name": repo.full_name,
                "private": True,
                "owner": owner,
                "html_url": html,
                "description": None,
                "fork": repo.fork,
                "url": f"{self.base}/repos/{repo.full_name}",
                "created_at": int(repo.created_at.timestamp())
                if int_stamps
                else iso(repo.created_at),
                "updated_at": iso(repo.pushed_at),
                "pushed_at": int(repo.pushed_at.timestamp()) if int_stamps else iso(repo.pushed_at),
                "git_url": f"git://{self.host}/{repo.full_name}.git",
                "ssh_url": f"git@{self.host}:{repo.full_name}.git",
                "clone_url": self.world.clone_url(repo),
                "svn_url": html,
                "homepage": None,
                "size": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "language": None,
                "forks_count": forks,
                "mirror_url": None,
                "archived": False,
                "disabled": False,
                "open_issues_count": open_pulls,
                "license": None,
                "forks": forks,
                "open_issues": open_pulls,
                "watchers": 0,
                "default_branch": repo.default_branch,
                "topics": [],
                "visibility": "private",
            }
        )
        if "master_branch" in obj:
            obj["master_branch"] = repo.default_branch
        if "stargazers" in obj:
            obj["stargazers"] = 0
        return obj

    def add_context(
        self,
        payload: JsonObject,
        repo: RepoRecord,
        installation: InstallationRecord | None,
        sender: Account,
    ) -> None:
        """The keys every repository event carries: organization, sender, installation."""
        payload.pop("organization", None)
        payload.pop("enterprise", None)
        if repo.owner.type == "Organization":
            payload["organization"] = self.organization(repo.owner)
        payload["sender"] = self.user(sender)
        if installation is not None:
            payload["installation"] = self.installation_ref(installation)
        else:
            payload.pop("installation", None)

    # -- commits ---------------------------------------------------------------------------

    def commit_short(self, info: CommitInfo) -> JsonObject:
        return {
            "id": info.sha,
            "tree_id": info.tree,
            "message": info.message,
            "timestamp": info.committer_date,
            "author": {"name": info.author_name, "email": info.author_email},
            "committer": {"name": info.committer_name, "email": info.committer_email},
        }

    def push_commit(self, repo: RepoRecord, info: CommitInfo) -> JsonObject:
        return {
            "id": info.sha,
            "tree_id": info.tree,
            "distinct": True,
            "message": info.message,
            "timestamp": info.author_date,
            "url": f"{self.base}/{repo.full_name}/commit/{info.sha}",
            "author": {"name": info.author_name, "email": info.author_email},
            "committer": {"name": info.committer_name, "email": info.committer_email},
            "added": list(info.added),
            "removed": list(info.removed),
            "modified": list(info.modified),
        }

    def commit(self, repo: RepoRecord, entry: LogEntry) -> JsonObject:
        """A commit as the commits API shows it (REST `commit` object). `author` and
        `committer` are GitHub accounts matched by email; the emulator matches none."""
        api = f"{self.base}/repos/{repo.full_name}"
        html = f"{self.base}/{repo.full_name}"
        return {
            "sha": entry.sha,
            "node_id": node_id("Commit", int(entry.sha[:12], 16)),
            "commit": {
                "author": {
                    "name": entry.author_name,
                    "email": entry.author_email,
                    "date": entry.author_date,
                },
                "committer": {
                    "name": entry.committer_name,
                    "email": entry.committer_email,
                    "date": entry.committer_date,
                },
                "message": entry.message,
                "tree": {"sha": entry.tree, "url": f"{api}/git/trees/{entry.tree}"},
                "url": f"{api}/git/commits/{entry.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{entry.sha}",
            "html_url": f"{html}/commit/{entry.sha}",
            "comments_url": f"{api}/commits/{entry.sha}/comments",
            "author": None,
            "committer": None,
            "parents": [
                {"sha": sha, "url": f"{api}/commits/{sha}", "html_url": f"{html}/commit/{sha}"}
                for sha in entry.parents
            ],
        }

    def file(self, repo: RepoRecord, ref: str, change: FileChange) -> JsonObject:
        """One entry of a pull request's (or a comparison's) `files`."""
        html = f"{self.base}/{repo.full_name}"
        body: JsonObject = {
            "sha": change.blob_sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{html}/blob/{ref}/{change.filename}",
            "raw_url": f"{html}/raw/{ref}/{change.filename}",
            "contents_url": f"{self.base}/repos/{repo.full_name}/contents/{change.filename}"
            f"?ref={ref}",
        }
        if change.patch is not None:
            body["patch"] = change.patch
        if change.previous_filename is not None:
            body["previous_filename"] = change.previous_filename
        return body

    # -- pull requests ---------------------------------------------------------------------

    def pull_ref(self, pr: PullRecord) -> JsonObject:
        """The short form check suites and runs list under `pull_requests`."""
        base_repo = self.world.repos[pr.base_repo_id]
        head_repo = self.world.repos[pr.head_repo_id]
        return {
            "url": f"{self.base}/repos/{base_repo.full_name}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": self.repo_ref(head_repo)},
            "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": self.repo_ref(base_repo)},
        }

    def pull_association(self, pr: PullRecord) -> str:
        """The author's `author_association`, as far as the emulator knows people: the owner,
        a member (or collaborator) pushing to the repository itself, or someone from a fork."""
        base_repo = self.world.repos[pr.base_repo_id]
        if pr.author.login.lower() == base_repo.owner.login.lower():
            return "OWNER"
        if pr.head_repo_id == pr.base_repo_id:
            return "MEMBER" if base_repo.owner.type == "Organization" else "COLLABORATOR"
        return "NONE"

    def pull_request(self, pr: PullRecord) -> JsonObject:
        shape: JsonObject = template("pull_request.opened")["pull_request"]
        base_repo = self.world.repos[pr.base_repo_id]
        head_repo = self.world.repos[pr.head_repo_id]
        api = f"{self.base}/repos/{base_repo.full_name}"
        html = f"{self.base}/{base_repo.full_name}/pull/{pr.number}"
        association = self.pull_association(pr)
        shape.update(
            {
                "url": f"{api}/pulls/{pr.number}",
                "id": pr.id,
                "node_id": node_id("PullRequest", pr.id),
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "issue_url": f"{api}/issues/{pr.number}",
                "number": pr.number,
                "state": pr.state,
                "locked": False,
                "title": pr.title,
                "user": self.user(pr.author),
                "body": pr.body,
                "created_at": iso(pr.created_at),
                "updated_at": iso(pr.updated_at),
                "closed_at": iso(pr.closed_at),
                "merged_at": iso(pr.merged_at),
                "merge_commit_sha": pr.merge_commit_sha,
                "assignee": None,
                "assignees": [],
                "requested_reviewers": [],
                "requested_teams": [],
                "labels": [],
                "milestone": None,
                "commits_url": f"{api}/pulls/{pr.number}/commits",
                "review_comments_url": f"{api}/pulls/{pr.number}/comments",
                "review_comment_url": f"{api}/pulls/comments{{/number}}",
                "comments_url": f"{api}/issues/{pr.number}/comments",
                "statuses_url": f"{api}/statuses/{pr.head_sha}",
                "head": {
                    "label": f"{head_repo.owner.login}:{pr.head_ref}",
                    "ref": pr.head_ref,
                    "sha": pr.head_sha,
                    "user": self.user(head_repo.owner),
                    "repo": self.repository(head_repo),
                },
                "base": {
                    "label": f"{base_repo.owner.login}:{pr.base_ref}",
                    "ref": pr.base_ref,
                    "sha": pr.base_sha,
                    "user": self.user(base_repo.owner),
                    "repo": self.repository(base_repo),
                },
                "_links": {
                    "self": {"href": f"{api}/pulls/{pr.number}"},
                    "html": {"href": html},
                    "issue": {"href": f"{api}/issues/{pr.number}"},
                    "comments": {"href": f"{api}/issues/{pr.number}/comments"},
                    "review_comments": {"href": f"{api}/pulls/{pr.number}/comments"},
                    "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                    "commits": {"href": f"{api}/pulls/{pr.number}/commits"},
                    "statuses": {"href": f"{api}/statuses/{pr.head_sha}"},
                },
                "author_association": association,
                "auto_merge": None,
                "active_lock_reason": None,
                "draft": False,
                "merged": pr.merged_at is not None,
                "mergeable": None,
                "rebaseable": None,
                "mergeable_state": "unknown",
                "merged_by": self.user(pr.merged_by) if pr.merged_by else None,
                "comments": len(self.world.comments_on(pr.base_repo_id, pr.number)),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": pr.commits,
                "additions": pr.additions,
                "deletions": pr.deletions,
                "changed_files": pr.changed_files,
            }
        )
        return shape

    # -- issues and comments ---------------------------------------------------------------

    def reactions(self, url: str) -> JsonObject:
        counts = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
        return {"url": url, "total_count": 0, **dict.fromkeys(counts, 0)}

    def issue_of(self, repo_id: int, number: int) -> JsonObject:
        """Issue number `number` as the issues API shows it: a plain issue, or the issue side
        of a pull request (with `pull_request` links; GitHub gives it an id of its own)."""
        shape: JsonObject = template("issue_comment.created")["issue"]
        repo = self.world.repos[repo_id]
        api = f"{self.base}/repos/{repo.full_name}"
        pr = self.world.find_pull(repo_id, number)
        issue = self.world.find_issue(repo_id, number)
        comments = len(self.world.comments_on(repo_id, number))
        if pr is not None:
            html = f"{self.base}/{repo.full_name}/pull/{number}"
            fields: JsonObject = {
                "id": pr.issue_id,
                "node_id": node_id("PullRequest", pr.issue_id),
                "title": pr.title,
                "user": self.user(pr.author),
                "state": pr.state,
                "created_at": iso(pr.created_at),
                "updated_at": iso(pr.updated_at),
                "closed_at": iso(pr.closed_at),
                "author_association": self.pull_association(pr),
                "body": pr.body,
                "draft": False,
                "pull_request": {
                    "url": f"{api}/pulls/{number}",
                    "html_url": html,
                    "diff_url": f"{html}.diff",
                    "patch_url": f"{html}.patch",
                    "merged_at": iso(pr.merged_at),
                },
            }
        elif issue is not None:
            html = f"{self.base}/{repo.full_name}/issues/{number}"
            fields = {
                "id": issue.id,
                "node_id": node_id("Issue", issue.id),
                "title": issue.title,
                "user": self.user(issue.author),
                "state": issue.state,
                "created_at": iso(issue.created_at),
                "updated_at": iso(issue.updated_at),
                "closed_at": None,
                "author_association": "OWNER"
                if issue.author.login.lower() == repo.owner.login.lower()
                else "NONE",
                "body": issue.body,
            }
        else:
            raise KeyError(f"no issue #{number} in {repo.full_name}")
        shape.update(
            {
                "url": f"{api}/issues/{number}",
                "repository_url": api,
                "labels_url": f"{api}/issues/{number}/labels{{/name}}",
                "comments_url": f"{api}/issues/{number}/comments",
                "events_url": f"{api}/issues/{number}/events",
                "html_url": html,
                "number": number,
                "labels": [],
                "locked": False,
                "assignee": None,
                "assignees": [],
                "milestone": None,
                "comments": comments,
                "active_lock_reason": None,
                "reactions": self.reactions(f"{api}/issues/{number}/reactions"),
                "timeline_url": f"{api}/issues/{number}/timeline",
                "performed_via_github_app": None,
                "state_reason": None,
                **fields,
            }
        )
        return shape

    def comment(self, comment: CommentRecord) -> JsonObject:
        shape: JsonObject = template("issue_comment.created")["comment"]
        repo = self.world.repos[comment.repo_id]
        api = f"{self.base}/repos/{repo.full_name}"
        kind = "pull" if self.world.find_pull(repo.id, comment.number) else "issues"
        via = self.app(self.world.apps[comment.app_id]) if comment.app_id is not None else None
        shape.update(
            {
                "url": f"{api}/issues/comments/{comment.id}",
                "html_url": f"{self.base}/{repo.full_name}/{kind}/{comment.number}"
                f"#issuecomment-{comment.id}",
                "issue_url": f"{api}/issues/{comment.number}",
                "id": comment.id,
                "node_id": node_id("IssueComment", comment.id),
                "user": self.user(comment.author),
                "created_at": iso(comment.created_at),
                "updated_at": iso(comment.updated_at),
                "author_association": comment.author_association,
                "body": comment.body,
                "reactions": self.reactions(f"{api}/issues/comments/{comment.id}/reactions"),
                "performed_via_github_app": via,
            }
        )
        return shape

    # -- checks ----------------------------------------------------------------------------

    def check_suite(self, suite: SuiteRecord) -> JsonObject:
        repo = self.world.repos[suite.repo_id]
        status, conclusion = self.world.suite_status(suite)
        runs = self.world.runs_of_suite(suite.id)
        latest_names = {run.name for run in runs}
        info = self.world.commits.get((suite.repo_id, suite.head_sha))
        api = f"{self.base}/repos/{repo.full_name}/check-suites/{suite.id}"
        return {
            "id": suite.id,
            "node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": status,
            "conclusion": conclusion,
            "url": api,
            "before": suite.before,
            "after": suite.after,
            "pull_requests": self.pull_refs(suite.repo_id, suite.head_sha),
            "app": self.app(self.world.apps[suite.app_id]),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
            "rerequestable": True,
            "runs_rerequestable": True,
            "latest_check_runs_count": len(latest_names),
            "check_runs_url": f"{api}/check-runs",
            "head_commit": self.commit_short(info) if info else None,
        }

    def pull_refs(self, repo_id: int, sha: str) -> list[JsonObject]:
        return [self.pull_ref(pr) for pr in self.world.open_same_repo_pulls_at(repo_id, sha)]

    def check_run(self, run: RunRecord, *, full_suite: bool) -> JsonObject:
        repo = self.world.repos[run.repo_id]
        api = f"{self.base}/repos/{repo.full_name}/check-runs/{run.id}"
        suite = self.world.suites[run.suite_id]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id,
            "url": api,
            "html_url": f"{self.base}/{repo.full_name}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.output_title,
                "summary": run.output_summary,
                "text": run.output_text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{api}/annotations",
            },
            "check_suite": self.check_suite(suite) if full_suite else {"id": suite.id},
            "app": self.app(self.world.apps[run.app_id]),
            "pull_requests": self.pull_refs(run.repo_id, run.head_sha),
        }

    # -- whole webhook bodies ------------------------------------------------------------

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
