"""Merging a pull request, as the merge button and `PUT /repos/{o}/{r}/pulls/{n}/merge` do:
refuse while protection or a ruleset is not satisfied, else write the merge (or squash)
commit, move the base branch, close the pull request as merged, and send what GitHub sends
(`pull_request` closed with `merged: true`, then the base branch's `push` and check suites).
"""

from __future__ import annotations

import asyncio

from app.localgithub import gitcmd, pushes
from app.localgithub.hub import Hub
from app.localgithub.merge_gate import merge_refusal
from app.localgithub.models import WebhookDelivery
from app.localgithub.records import Account, PullRecord
from app.localgithub.timeutil import now

MERGE_METHODS = ("merge", "squash", "rebase")


class MergeRefused(Exception):
    """GitHub's refusal: the HTTP status and message the merge endpoint answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def merge(
    hub: Hub,
    pr: PullRecord,
    actor: Account,
    *,
    method: str = "merge",
    sha: str | None = None,
    title: str | None = None,
    message: str | None = None,
) -> tuple[str, list[asyncio.Future[WebhookDelivery]]]:
    """The new tip of the base branch, and the deliveries the merge caused."""
    world = hub.world
    if sha is not None and sha != pr.head_sha:
        raise MergeRefused(409, "Head branch was modified. Review and try the merge again.")
    refusal = merge_refusal(world, pr)
    if refusal is not None:
        raise MergeRefused(405, refusal)
    if method == "rebase":
        # Not emulated: replaying commits one by one. Said plainly instead of faked.
        raise MergeRefused(405, "Rebase merges are not allowed on this repository.")
    base = world.repos[pr.base_repo_id]
    head_repo = world.repos[pr.head_repo_id]
    before = await gitcmd.branch_tip(base.bare_path, pr.base_ref)
    if before is None:
        raise MergeRefused(405, "Pull Request is not mergeable")
    tree = await gitcmd.merged_tree(base.bare_path, before, pr.head_sha)
    if tree is None:
        raise MergeRefused(405, "Pull Request is not mergeable")
    # A squash commit is the pull request author's work; a merge commit the merger's.
    author = pr.author if method == "squash" else actor
    identity = gitcmd.github_identity(
        author.login, f"{author.id}+{author.login}@users.noreply.github.com"
    )
    if method == "squash":
        subject = title or f"{pr.title} (#{pr.number})"
        parents = [before]
    else:
        subject = title or (
            f"Merge pull request #{pr.number} from {head_repo.owner.login}/{pr.head_ref}"
        )
        parents = [before, pr.head_sha]
    body = message if message is not None else (pr.title if method == "merge" else "")
    text = subject + (f"\n\n{body}" if body else "")
    known = await gitcmd.ref_tips(base.bare_path)
    after = await gitcmd.commit_tree(base.bare_path, tree, parents, text, identity)
    if not await gitcmd.move_ref(base.bare_path, f"refs/heads/{pr.base_ref}", after, before):
        raise MergeRefused(405, "Base branch was modified. Review and try the merge again.")
    moment = now()
    pr.state = "closed"
    pr.closed_at = pr.updated_at = pr.merged_at = moment
    pr.merged_by = actor
    pr.merge_commit_sha = after
    pending = await hub.events.pull_request("closed", pr, actor)
    pending += await pushes.branch_moved(
        hub, base, pr.base_ref, before=before, after=after, known=known, actor=actor
    )
    return after, pending
