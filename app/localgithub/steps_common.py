"""What every part of `LocalGitHub` stands on: the world and the hub it drives, the look-ups
the scenario steps share (a handed-out value back to its record, who acts when no one is
named), and waiting for the webhooks a step caused.

`LocalGitHub` (local.py) is made of one class per area, each a `Steps`: steps_apps.py,
steps_repos.py, steps_pulls.py, steps_issues.py, steps_protection.py, steps_checks.py, and
for tests, inspection.py and tampering.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from app.localgithub.hub import Hub
from app.localgithub.models import PullRequest, Repository, WebhookDelivery
from app.localgithub.records import Account, PullRecord, RepoRecord
from app.localgithub.state import World

# Who clicks buttons and pushes when an organisation owns the repository and no one is named.
DEFAULT_ACTOR = "octocat"


async def settle(pending: Sequence[asyncio.Future[WebhookDelivery]]) -> list[WebhookDelivery]:
    """Wait until each of these webhooks has been delivered (or has failed)."""
    return list(await asyncio.gather(*pending)) if pending else []


def as_pending(
    future: asyncio.Future[WebhookDelivery] | None,
) -> list[asyncio.Future[WebhookDelivery]]:
    """The one webhook a happening caused, if it caused one, as a list to settle."""
    return [future] if future is not None else []


class Steps:
    """The state every area of `LocalGitHub` works on; `LocalGitHub.__init__` sets it."""

    data_dir: Path
    _world: World
    _hub: Hub

    def _repo(self, repo: Repository) -> RepoRecord:
        return self._world.repos[repo.id]

    def _person(self, login: str | None, owner: Account) -> Account:
        if login is not None:
            return self._world.account(login)
        if owner.type == "User":
            return owner
        return self._world.account(DEFAULT_ACTOR)

    def _pull(self, pr: PullRequest) -> PullRecord:
        found = self._world.find_pull(pr.base_repo.id, pr.number)
        if found is None:
            raise KeyError(f"no pull request #{pr.number} in {pr.base_repo.full_name}")
        return found
