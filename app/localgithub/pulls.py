"""Keeping a pull request's refs in the base repository in step with its branches, as GitHub
does: refs/pull/N/head follows the head branch (copied over from a fork), refs/pull/N/merge
is a test merge of head into base, redone whenever either side moves (and removed when they
conflict)."""

from __future__ import annotations

from app.localgithub import gitcmd
from app.localgithub.records import PullRecord, RepoRecord
from app.localgithub.state import World
from app.localgithub.timeutil import now


async def set_head(world: World, pr: PullRecord, sha: str) -> None:
    base = world.repos[pr.base_repo_id]
    head = world.repos[pr.head_repo_id]
    ref = f"refs/pull/{pr.number}/head"
    if head.id == base.id:
        await gitcmd.update_ref(base.bare_path, ref, sha)
    else:
        # The fork's commits must be fetchable from the base repository, where the app has
        # access; GitHub copies them there under refs/pull/N/head.
        await gitcmd.fetch_into(base.bare_path, head.bare_path, f"+{sha}:{ref}")
    pr.head_sha = sha
    pr.updated_at = now()
    await refresh(world, pr)


async def refresh(world: World, pr: PullRecord) -> None:
    base = world.repos[pr.base_repo_id]
    base_sha = await gitcmd.branch_tip(base.bare_path, pr.base_ref)
    if base_sha is None:
        return
    pr.base_sha = base_sha
    merge = await gitcmd.write_merge_commit(base.bare_path, base_sha, pr.head_sha)
    merge_ref = f"refs/pull/{pr.number}/merge"
    if merge is None:
        await gitcmd.delete_ref(base.bare_path, merge_ref)
    else:
        await gitcmd.update_ref(base.bare_path, merge_ref, merge)
    pr.merge_commit_sha = merge
    # Strict required checks want the head to contain the base's tip.
    pr.up_to_date = await gitcmd.is_ancestor(base.bare_path, base_sha, pr.head_sha)
    stats = await gitcmd.diff_stats(base.bare_path, base_sha, pr.head_sha)
    pr.commits = stats.commits
    pr.additions = stats.additions
    pr.deletions = stats.deletions
    pr.changed_files = stats.changed_files


async def follow_head_branch(
    world: World, repo: RepoRecord, branch: str, after: str
) -> list[tuple[PullRecord, str]]:
    """Move the open pull requests whose head is `repo`'s `branch` to `after`; returns each
    with its previous head sha (the `before` of its synchronize event)."""
    moved = []
    for pr in list(world.pulls.values()):
        if pr.state != "open" or pr.head_repo_id != repo.id or pr.head_ref != branch:
            continue
        old_head = pr.head_sha
        await set_head(world, pr, after)
        moved.append((pr, old_head))
    return moved


async def follow_base_branch(world: World, repo: RepoRecord, branch: str) -> None:
    # A new base commit means a new test merge; GitHub sends no webhook for it.
    for pr in list(world.pulls.values()):
        if pr.state == "open" and pr.base_repo_id == repo.id and pr.base_ref == branch:
            await refresh(world, pr)
