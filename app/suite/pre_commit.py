"""The `pre-commit` check a repository with a `.pre-commit-config.yaml` gets without configuring it:
every hook on every file, as pre-commit.ci runs them."""

from __future__ import annotations

from app.suite.plan import CheckSpec
from app.suite.recipe import PIP_INSTALL

PRE_COMMIT_CHECK = "pre-commit"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
WRAPPER = 'python "$CONVEYOR_HELPERS/conveyor_pre_commit.py"'


def pre_commit_check() -> CheckSpec:
    return CheckSpec(
        name=PRE_COMMIT_CHECK,
        python="",
        # Hooks are fetched while installing, so the run itself needs no network. The wrapper
        # (app/suite/in_sandbox/conveyor_pre_commit.py) is pre-commit, except that hooks whose
        # repository cannot be fetched are left out and named, and the others still run; its
        # install puts it in place of the environment's `pre-commit`, which the test step runs.
        install=(f"{PIP_INSTALL} pre-commit", f"{WRAPPER} install-hooks"),
        test=("pre-commit run --all-files --show-diff-on-failure",),
        # The environment (hooks included, in PRE_COMMIT_HOME) is kept while this file is the
        # same, as pre-commit.ci keys its cache.
        dependency_files=(PRE_COMMIT_CONFIG,),
        explanation=(
            f"Detected: `{PRE_COMMIT_CONFIG}`; runs every hook on every file "
            "(`pre-commit run --all-files`).",
            "To change it, edit the hooks there, or add `[tool.conveyor.checks]` — see README.",
        ),
    )
