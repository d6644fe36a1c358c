"""Scenario steps around pull requests: opening (also from a fork), closing, reopening and
merging one (the merge button obeys protection and rulesets), and whether it may merge now."""

from __future__ import annotations

from app.localgithub import gitcmd, merge_gate, merging, pulls
from app.localgithub.models import PullRequest, Repository
from app.localgithub.records import PullRecord, RepoRecord
from app.localgithub.steps_common import Steps, settle
from app.localgithub.timeutil import now


class PullSteps(Steps):
    """Pull requests opened, closed, reopened and merged."""

    async def open_pull_request(
        self,
        base_repo: Repository,
        head: str,
        base: str = "main",
        *,
        head_repo: Repository | None = None,
        title: str = "Update",
        body: str = "",
        author: str | None = None,
    ) -> PullRequest:
        base_record = self._repo(base_repo)
        head_record = self._repo(head_repo) if head_repo is not None else base_record
        if head_record.id != base_record.id and not self._same_network(head_record, base_record):
            raise ValueError(f"{head_record.full_name} is not a fork of {base_record.full_name}")
        head_sha = await gitcmd.branch_tip(head_record.bare_path, head)
        if head_sha is None:
            raise ValueError(f"{head_record.full_name} has no branch {head!r}")
        base_sha = await gitcmd.branch_tip(base_record.bare_path, base)
        if base_sha is None:
            raise ValueError(f"{base_record.full_name} has no branch {base!r}")
        if head_record.id == base_record.id and head == base:
            raise ValueError("head and base are the same branch")
        if head_record.id == base_record.id and await gitcmd.is_ancestor(
            base_record.bare_path, head_sha, base_sha
        ):
            raise ValueError(f"No commits between {base} and {head}")
        number = base_record.next_number
        base_record.next_number += 1
        moment = now()
        pr = PullRecord(
            id=self._world.next_pull_id(),
            number=number,
            base_repo_id=base_record.id,
            head_repo_id=head_record.id,
            head_ref=head,
            base_ref=base,
            head_sha=head_sha,
            title=title,
            body=body,
            author=self._person(author, head_record.owner),
            state="open",
            created_at=moment,
            updated_at=moment,
            base_sha=base_sha,
            issue_id=self._world.next_issue_id(),
        )
        self._world.pulls[pr.id] = pr
        await pulls.set_head(self._world, pr, head_sha)
        await settle(await self._hub.events.pull_request("opened", pr, pr.author))
        return self._world.pull_request(pr)

    def _same_network(self, one: RepoRecord, other: RepoRecord) -> bool:
        def root(repo: RepoRecord) -> int:
            while repo.parent_id is not None:
                repo = self._world.repos[repo.parent_id]
            return repo.id

        return root(one) == root(other)

    async def close_pull_request(
        self, pr: PullRequest, *, sender: str | None = None
    ) -> PullRequest:
        record = self._pull(pr)
        if record.state != "open":
            raise ValueError(f"#{record.number} is not open")
        record.state = "closed"
        record.closed_at = record.updated_at = now()
        actor = self._world.account(sender) if sender else record.author
        await settle(await self._hub.events.pull_request("closed", record, actor))
        return self._world.pull_request(record)

    async def reopen_pull_request(
        self, pr: PullRequest, *, sender: str | None = None
    ) -> PullRequest:
        record = self._pull(pr)
        if record.state != "closed":
            raise ValueError(f"#{record.number} is not closed")
        head = self._world.repos[record.head_repo_id]
        tip = await gitcmd.branch_tip(head.bare_path, record.head_ref)
        if tip is None:
            raise ValueError(f"the head branch {record.head_ref!r} no longer exists")
        record.state = "open"
        record.closed_at = None
        await pulls.set_head(self._world, record, tip)
        actor = self._world.account(sender) if sender else record.author
        await settle(await self._hub.events.pull_request("reopened", record, actor))
        return self._world.pull_request(record)

    async def merge_pull_request(
        self, pr: PullRequest, *, by: str | None = None, method: str = "merge"
    ) -> bool | str:
        """The merge button: True once merged, else the reason GitHub gives (the message of
        its 405). Branch protection and rulesets are obeyed; nobody bypasses them here."""
        record = self._pull(pr)
        actor = self._world.account(by) if by else self._person(None, record.author)
        try:
            _, pending = await merging.merge(self._hub, record, actor, method=method)
        except merging.MergeRefused as refused:
            return refused.message
        await settle(pending)
        return True

    def mergeable(self, pr: PullRequest) -> tuple[bool, str]:
        """(True, "") when the merge button would work now, else (False, why)."""
        refusal = merge_gate.merge_refusal(self._world, self._pull(pr))
        return (False, refusal) if refusal is not None else (True, "")
