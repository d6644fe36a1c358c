"""Pull requests and issues as GitHub's JSON shows them (a pull request is an issue too: it
shares the numbers and has comments), and issue comments with their reactions."""

from __future__ import annotations

from app.localgithub.json_base import JsonObject, node_id, template
from app.localgithub.json_repos import RepoJson
from app.localgithub.records import CommentRecord, PullRecord
from app.localgithub.timeutil import iso


class IssueJson(RepoJson):
    """Pull requests, issues and comments, over repositories and accounts."""

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
