"""What GitHub does after a branch moved, whoever moved it (a `git push`, or a merge made
through the API): bring pull requests up to date, send `push`, create a check suite per app
with the checks permission and ask for it, and send `synchronize` to moved pull requests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.localgithub import gitcmd, pulls
from app.localgithub.gitcmd import ZERO_SHA
from app.localgithub.hub import Hub
from app.localgithub.models import WebhookDelivery
from app.localgithub.records import Account, RepoRecord, SuiteRecord
from app.localgithub.timeutil import now

# GitHub lists at most this many commits in a push payload.
MAX_PUSH_COMMITS = 2048


async def branch_moved(
    hub: Hub,
    record: RepoRecord,
    branch: str,
    *,
    before: str,
    after: str,
    known: Sequence[str],
    actor: Account,
) -> list[asyncio.Future[WebhookDelivery]]:
    """`known`: the shas branches and tags pointed at before the move (to tell new commits)."""
    bare = record.bare_path
    created = before == ZERO_SHA
    forced = not created and not await gitcmd.is_ancestor(bare, before, after)
    events = hub.events
    world = hub.world
    commits = []
    for sha in await gitcmd.new_commits(bare, after, known, MAX_PUSH_COMMITS):
        info = await events.remember_commit(record, sha)
        if info is not None:
            commits.append(info)
    head = await events.remember_commit(record, after)
    assert head is not None
    record.pushed_at = now()
    # Pull requests are brought up to date before any payload is built, so that the check
    # suite created for this push already lists them.
    synchronized = await pulls.follow_head_branch(world, record, branch, after)
    await pulls.follow_base_branch(world, record, branch)
    pending = await events.push(
        record,
        actor,
        ref=f"refs/heads/{branch}",
        before=before,
        after=after,
        created=created,
        forced=forced,
        commits=commits,
        head=head,
    )
    for installation in world.installations_of_repo(record.id):
        if "checks" not in installation.permissions:
            continue
        # One suite per app and commit: the same sha pushed again gets no new request.
        if world.suite_for(installation.app_id, record.id, after) is not None:
            continue
        moment = now()
        suite = SuiteRecord(
            id=world.next_suite_id(),
            app_id=installation.app_id,
            repo_id=record.id,
            head_sha=after,
            head_branch=branch,
            before=before,
            after=after,
            created_at=moment,
            updated_at=moment,
        )
        world.suites[suite.id] = suite
        future = await events.check_suite("requested", suite, actor)
        if future is not None:
            pending.append(future)
    for pr, old_head in synchronized:
        pending += await events.pull_request("synchronize", pr, actor, before=old_head, after=after)
    return pending
