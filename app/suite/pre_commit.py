"""The `pre-commit` check a repository with a `.pre-commit-config.yaml` gets without configuring it:
every hook on every file, as pre-commit.ci runs them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from app.suite.config_files import yaml_shape
from app.suite.plan import CheckSpec, ConfigError
from app.suite.recipe import PIP_INSTALL
from app.suite.repository_files import CONFIG_LIMIT, UnreadableFile, is_file, read_text
from app.suite.uv_lock import UV_LOCK

PRE_COMMIT_CHECK = "pre-commit"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
# A hook id as SKIP can carry it (a comma would split it).
_ID = r"[A-Za-z0-9_.:/+-]{1,100}"
WRAPPER = 'python "$CONVEYOR_HELPERS/conveyor_pre_commit.py"'


def pre_commit_check(root: Path) -> CheckSpec:
    config = _config(root)
    skipped = ci_skip(config)
    # Local hooks that `uv run` get the project's locked environment (see the wrapper): it is
    # kept with the hooks, so the lock is part of what decides whether it can be reused.
    uv = ("pyproject.toml", UV_LOCK) if _runs_uv(config) and is_file(root, UV_LOCK) else ()
    said = (
        (
            "As on pre-commit.ci, the hooks its `ci: skip` names do not run: "
            + ", ".join(f"`{hook}`" for hook in skipped)
            + ".",
        )
        if skipped
        else ()
    )
    return CheckSpec(
        name=PRE_COMMIT_CHECK,
        python="",
        # Hooks are fetched while installing, so the run itself needs no network. The wrapper
        # (app/suite/in_sandbox/conveyor_pre_commit.py) is pre-commit, except that hooks whose
        # repository cannot be fetched are left out and named, and the others still run; its
        # install puts it in place of the environment's `pre-commit`, which the test step runs.
        install=(f"{PIP_INSTALL} pre-commit", f"{WRAPPER} install-hooks"),
        test=("pre-commit run --all-files --show-diff-on-failure",),
        # pre-commit's own way to leave hooks out.
        env=(("SKIP", ",".join(skipped)),) if skipped else (),
        # The environment (hooks included, in PRE_COMMIT_HOME) is kept while this file is the
        # same, as pre-commit.ci keys its cache.
        dependency_files=(PRE_COMMIT_CONFIG, *uv),
        explanation=(
            f"Detected: `{PRE_COMMIT_CONFIG}`; runs every hook on every file "
            "(`pre-commit run --all-files`).",
            *said,
            "To change it, edit the hooks there, or add `[tool.conveyor.checks]` — see README.",
        ),
    )


def ci_skip(config: Any) -> tuple[str, ...]:
    """The hook ids the config's `ci: skip` names: pre-commit.ci does not run them (a hook that
    needs the network, or one meant for a person's commits, like `no-commit-to-branch`)."""
    ci = config.get("ci") if isinstance(config, dict) else None
    skip = ci.get("skip") if isinstance(ci, dict) else None
    if not isinstance(skip, list):
        return ()
    return tuple(dict.fromkeys(h for h in skip if isinstance(h, str) and re.fullmatch(_ID, h)))


def _runs_uv(config: Any) -> bool:
    """Whether a local hook's entry is `uv run …`."""
    repos = config.get("repos") if isinstance(config, dict) else None
    for repo in repos if isinstance(repos, list) else []:
        hooks = repo.get("hooks") if isinstance(repo, dict) and repo.get("repo") == "local" else []
        for hook in hooks if isinstance(hooks, list) else []:
            if isinstance(hook, dict) and str(hook.get("entry", "")).split()[:2] == ["uv", "run"]:
                return True
    return False


def _config(root: Path) -> Any:
    """The config as YAML, read with the bounds .conveyor.yml is read with; None when it is
    unreadable or hostile: pre-commit itself says what is wrong with it."""
    try:
        text = read_text(root, PRE_COMMIT_CONFIG, limit=CONFIG_LIMIT)
        if text is None:
            return None
        yaml_shape(text, PRE_COMMIT_CONFIG)
        return yaml.safe_load(text)
    except (UnreadableFile, ConfigError, yaml.YAMLError, ValueError, RecursionError):
        return None
