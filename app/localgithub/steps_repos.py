"""Scenario steps around repositories: creating one (possibly with an installation),
forking, pushing a work tree to a branch and deleting a branch, each with what GitHub sends
after it."""

from __future__ import annotations

import re
from pathlib import Path

from app.localgithub import gitcmd, pushes
from app.localgithub.gitcmd import ZERO_SHA
from app.localgithub.models import Repository
from app.localgithub.records import RepoRecord
from app.localgithub.steps_common import Steps, as_pending, settle
from app.localgithub.timeutil import now

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class RepoSteps(Steps):
    """Repositories made, forked, pushed to, and branches deleted."""

    async def create_repository(
        self,
        owner: str,
        name: str,
        *,
        installation_id: int | None = None,
        default_branch: str = "main",
        owner_type: str = "User",
        private: bool = True,
    ) -> Repository:
        if not _NAME.match(name) or name in (".", ".."):
            raise ValueError(f"invalid repository name {name!r}")
        if self._world.find_repo(owner, name) is not None:
            raise ValueError(f"{owner}/{name} already exists")
        account = self._world.account(owner, kind=owner_type)
        installation = None
        if installation_id is not None:
            installation = self._world.installations.get(installation_id)
            if installation is None or installation.deleted:
                raise ValueError(f"no installation {installation_id}")
            if installation.account is not account:
                on = installation.account.login
                raise ValueError(f"installation {installation_id} is on {on}, not {owner}")
        bare = self.data_dir / "repos" / account.login / f"{name}.git"
        await gitcmd.init_bare(bare, default_branch)
        moment = now()
        record = RepoRecord(
            id=self._world.next_repo_id(),
            owner=account,
            name=name,
            bare_path=bare,
            default_branch=default_branch,
            created_at=moment,
            pushed_at=moment,
            created_installation_id=installation_id,
            private=private,
        )
        self._world.repos[record.id] = record
        if installation is not None:
            installation.repo_ids.add(record.id)
            actor = self._person(None, account)
            await settle(
                as_pending(
                    self._hub.events.installation_repositories(
                        "added", installation, [record], actor
                    )
                )
            )
        return self._world.repository(record)

    async def fork(self, repo: Repository, owner: str, *, name: str | None = None) -> Repository:
        parent = self._repo(repo)
        fork_name = name or parent.name
        if self._world.find_repo(owner, fork_name) is not None:
            raise ValueError(f"{owner}/{fork_name} already exists")
        account = self._world.account(owner)
        bare = self.data_dir / "repos" / account.login / f"{fork_name}.git"
        await gitcmd.clone_bare(parent.bare_path, bare)
        moment = now()
        record = RepoRecord(
            id=self._world.next_repo_id(),
            owner=account,
            name=fork_name,
            bare_path=bare,
            default_branch=parent.default_branch,
            created_at=moment,
            pushed_at=moment,
            fork=True,
            parent_id=parent.id,
            private=parent.private,  # a fork has its parent's visibility
        )
        self._world.repos[record.id] = record
        return self._world.repository(record)

    # -- pushing ---------------------------------------------------------------------------

    async def push(
        self,
        repo: Repository,
        source_dir: Path,
        branch: str = "main",
        *,
        force: bool = False,
        sender: str | None = None,
    ) -> str:
        """`git push` the work tree's HEAD to `branch`, then do what GitHub does after a push."""
        record = self._repo(repo)
        bare = record.bare_path
        before = await gitcmd.branch_tip(bare, branch) or ZERO_SHA
        known = await gitcmd.ref_tips(bare)
        await gitcmd.push_head(Path(source_dir), bare, branch, force=force)
        after = await gitcmd.branch_tip(bare, branch)
        assert after is not None
        if after == before:
            return after  # "Everything up-to-date": GitHub sends nothing
        actor = self._person(sender, record.owner)
        pending = await pushes.branch_moved(
            self._hub, record, branch, before=before, after=after, known=known, actor=actor
        )
        await settle(pending)
        return after

    async def delete_branch(
        self, repo: Repository, branch: str, *, sender: str | None = None
    ) -> None:
        """Delete a branch, as the "delete branch" button does: a push event with
        `deleted: true` and an all-zero `after`, and no check suite."""
        record = self._repo(repo)
        before = await gitcmd.branch_tip(record.bare_path, branch)
        if before is None:
            raise ValueError(f"{repo.full_name} has no branch {branch!r}")
        if branch == record.default_branch:
            raise ValueError("GitHub does not let the default branch be deleted")
        await gitcmd.delete_ref(record.bare_path, f"refs/heads/{branch}")
        pending = await self._hub.events.push(
            record,
            self._person(sender, record.owner),
            ref=f"refs/heads/{branch}",
            before=before,
            after=ZERO_SHA,
            created=False,
            forced=False,
            commits=[],
            head=None,
        )
        await settle(pending)
