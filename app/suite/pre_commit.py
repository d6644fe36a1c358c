"""The `pre-commit` check a repository with a `.pre-commit-config.yaml` gets without configuring it:
every hook on every file, as pre-commit.ci runs them."""

from __future__ import annotations

from app.suite.plan import CheckSpec
from app.suite.recipe import PIP_INSTALL

PRE_COMMIT_CHECK = "pre-commit"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"


def pre_commit_check() -> CheckSpec:
    return CheckSpec(
        name=PRE_COMMIT_CHECK,
        python="",
        # Hooks are fetched while installing, so the run itself needs no network.
        install=(f"{PIP_INSTALL} pre-commit", "pre-commit install-hooks"),
        test=("pre-commit run --all-files --show-diff-on-failure",),
        dependency_files=(PRE_COMMIT_CONFIG,),
        explanation=(
            f"Detected: `{PRE_COMMIT_CONFIG}`; runs every hook on every file.",
            "To change it, edit the hooks there, or add `[tool.conveyor.checks]` — see README.",
        ),
    )
