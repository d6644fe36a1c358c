"""Scenario steps of a repository admin: protecting a branch and adding a ruleset (with the
bodies of the REST calls, validated the same way), and reading them as GET shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.localgithub import gitcmd, protection, protection_json, rulesets
from app.localgithub.errors import ApiError
from app.localgithub.models import Repository
from app.localgithub.steps_common import Steps


class ProtectionSteps(Steps):
    """What an admin sets in Settings → Branches and Settings → Rules."""

    async def protect_branch(
        self, repo: Repository, branch: str, settings: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What an admin does in Settings → Branches, with the body of PUT .../protection
        (validated the same way; ValueError with GitHub's message when it is refused).
        Returns the protection as GET shows it."""
        record = self._repo(repo)
        if await gitcmd.branch_tip(record.bare_path, branch) is None:
            raise ValueError(f"{repo.full_name} has no branch {branch!r}")
        try:
            made = protection.protection_from_put(self._world, record, branch, dict(settings))
        except ApiError as error:
            raise ValueError(error.message) from None
        self._world.protections[(record.id, branch)] = made
        return protection_json.protection_json(self._hub.builder, record, made)

    def branch_protection(self, repo: Repository, branch: str) -> dict[str, Any] | None:
        """The branch's protection as GET .../protection shows it, or None."""
        record = self._repo(repo)
        found = self._world.protections.get((record.id, branch))
        if found is None:
            return None
        return protection_json.protection_json(self._hub.builder, record, found)

    def create_ruleset(self, repo: Repository, ruleset: Mapping[str, Any]) -> dict[str, Any]:
        """What an admin does in Settings → Rules → Rulesets, with the body of POST
        .../rulesets. Returns the ruleset as GET shows it to an admin."""
        record = self._repo(repo)
        try:
            made = rulesets.create_ruleset(self._world, record, dict(ruleset))
        except ApiError as error:
            raise ValueError(error.message) from None
        return rulesets.ruleset_json(self._hub.builder, record, made, full=True, admin=True)

    def rulesets(self, repo: Repository) -> list[dict[str, Any]]:
        record = self._repo(repo)
        return [
            rulesets.ruleset_json(self._hub.builder, record, ruleset, full=True, admin=True)
            for ruleset in self._world.rulesets_of_repo(record.id)
        ]
