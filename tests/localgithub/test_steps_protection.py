"""What a repository admin sets (app/localgithub/steps_protection.py): branch protection and
rulesets with the REST bodies, refused as GitHub refuses them."""

from __future__ import annotations

from typing import Any

import pytest

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World, protection

RULESET: dict[str, Any] = {
    "name": "CI",
    "enforcement": "evaluate",
    "conditions": {"ref_name": {"include": ["~ALL"], "exclude": []}},
    "rules": [{"type": "deletion"}],
}


async def test_protecting_a_branch(gh: LocalGitHub, world: World) -> None:
    assert gh.branch_protection(world.repo, "main") is None
    with pytest.raises(ValueError, match="has no branch 'nope'"):
        await gh.protect_branch(world.repo, "nope", protection())
    with pytest.raises(ValueError, match="Invalid request"):
        await gh.protect_branch(world.repo, "main", {"enforce_admins": True})
    assert gh.branch_protection(world.repo, "main") is None
    shown = await gh.protect_branch(world.repo, "main", protection({"context": "tests"}))
    assert shown["required_status_checks"]["contexts"] == ["tests"]
    assert gh.branch_protection(world.repo, "main") == shown


async def test_adding_rulesets(gh: LocalGitHub, world: World) -> None:
    made = gh.create_ruleset(world.repo, RULESET)
    assert (made["name"], made["enforcement"], made["rules"]) == (
        "CI",
        "evaluate",
        RULESET["rules"],
    )
    assert made["bypass_actors"] == []  # an admin sees who may bypass it
    with pytest.raises(ValueError, match="Validation Failed"):
        gh.create_ruleset(world.repo, RULESET)
    assert [r["id"] for r in gh.rulesets(world.repo)] == [made["id"]]
