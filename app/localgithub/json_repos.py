"""Repositories as GitHub's JSON shows them (the full object keyed like the event's example,
the short forms, the keys every repository event carries), and their commits and changed
files."""

from __future__ import annotations

import json

from app.localgithub.gitcmd import CommitInfo, FileChange, LogEntry
from app.localgithub.json_accounts import AccountJson
from app.localgithub.json_base import JsonObject, node_id, template
from app.localgithub.records import Account, InstallationRecord, RepoRecord
from app.localgithub.timeutil import iso


class RepoJson(AccountJson):
    """Repositories, commits and changed files, over accounts."""

    def repo_short(self, repo: RepoRecord) -> JsonObject:
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
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
                "private": repo.private,
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
                "visibility": "private" if repo.private else "public",
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
