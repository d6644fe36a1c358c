"""The detected pre-commit check (app/suite/pre_commit.py), run by the real runner in the real
sandbox: pre-commit is installed from the package index, hooks of the repository's own run, and
a hook repository whose host cannot be reached is named in the title without stopping them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.report.model import CheckOutput
from app.report.summary import build_output
from app.suite.pre_commit import pre_commit_check
from tests.suite.sandbox.helpers import ISOLATED
from tests.suite.sandboxed import World, make_runner

pytestmark = ISOLATED

NO_TODO = """\
import sys

found = 0
for path in sys.argv[1:]:
    for number, line in enumerate(open(path), 1):
        if "TO" + "DO" in line:
            print(f"{path}:{number}: a TO" + "DO is left in")
            found = 1
sys.exit(found)
"""

LOCAL = """\
  - repo: local
    hooks:
      - id: no-todo
        name: no todo
        entry: python hooks/no_todo.py
        language: system
        types: [python]
  - repo: meta
    hooks:
      - id: check-useless-excludes
      - id: check-hooks-apply
"""
UNREACHABLE = """\
  - repo: https://hooks.unreachable.invalid/owner/hooks
    rev: v1.0.0
    hooks:
      - id: its-hook
"""


class Project:
    def __init__(self, root: Path, venvs: Path) -> None:
        self.root = root
        self.world = World(root, make_runner(root, venvs=venvs))

    async def check(self, config: str, code: str, ci: str = "") -> tuple[CheckOutput, str]:
        files = {
            ".pre-commit-config.yaml": ci + "repos:\n" + config,
            "hooks/no_todo.py": NO_TODO,
            "pkg/code.py": code,
        }
        plan = self.root / "plan"
        plan.mkdir(exist_ok=True)
        (plan / ".pre-commit-config.yaml").write_text(files[".pre-commit-config.yaml"])
        outcome, log = await self.world.run(pre_commit_check(plan), files=files)
        return build_output(outcome), log

    def kept_environments(self) -> list[Path]:
        folder = self.root / "environments" / "repo"
        return [p for p in folder.iterdir() if not p.name.startswith(".")]


@pytest.fixture
def project(tmp_path: Path, venv_templates: Path) -> Project:
    return Project(tmp_path, venv_templates)


async def test_hooks_that_cannot_be_fetched_are_named_and_the_others_still_run(
    project: Project,
) -> None:
    output, log = await project.check(LOCAL + UNREACHABLE, "x = 1  # TODO\n")

    assert output.conclusion == "failure", log
    assert output.title == (
        "pre-commit hooks could not be fetched: hooks.unreachable.invalid unreachable; "
        "1 of 2 hooks failed: no-todo"
    ), log
    assert "its-hook" in log  # named among those not run
    # What the check says ran is what a person types; the wrapper is behind it.
    assert "\n$ pre-commit run --all-files --show-diff-on-failure\n" in log, log
    assert "Test commands: `pre-commit run --all-files --show-diff-on-failure`" in output.summary
    (found,) = output.annotations
    assert (found.path, found.start_line, found.title) == ("pkg/code.py", 1, "pre-commit: no-todo")
    # The meta hook that reads the config still ran; the one that needs every repository did not.
    assert "Check for useless excludes" in log
    assert "Check hooks apply" not in log.split("running the other hooks")[1]
    # Kept, the environment would never get the missing hooks: the next run tries again.
    assert project.kept_environments() == []

    output, log = await project.check(LOCAL + UNREACHABLE, "x = 1\n")

    assert output.conclusion == "failure", log
    assert output.title == (
        "pre-commit hooks could not be fetched: hooks.unreachable.invalid unreachable; "
        "the other 2 hooks passed or were skipped"
    ), log
    assert "Environment: reused" not in output.text


async def test_an_unchanged_config_reuses_the_installed_hooks(project: Project) -> None:
    output, log = await project.check(LOCAL, "x = 1\n")
    assert (output.conclusion, output.title) == ("success", "Passed"), log
    assert len(project.kept_environments()) == 1

    output, log = await project.check(LOCAL, "y = 2  # TODO\n")

    assert "Environment reused" in log
    assert (output.conclusion, output.title) == (
        "failure",
        "pre-commit: 1 of 3 hooks failed: no-todo",
    ), log


async def test_a_config_of_unreachable_hooks_alone_says_just_that(project: Project) -> None:
    output, log = await project.check(UNREACHABLE, "x = 1\n")

    assert (output.conclusion, output.title) == (
        "failure",
        "pre-commit hooks could not be fetched: hooks.unreachable.invalid unreachable",
    ), log


async def test_the_hooks_pre_commit_ci_skips_do_not_run(project: Project) -> None:
    # toolz's config: `ci: skip: [no-commit-to-branch]`; pre-commit.ci never runs those.
    output, log = await project.check(LOCAL, "y = 2  # TODO\n", ci="ci:\n  skip: [no-todo]\n")

    assert (output.conclusion, output.title) == ("success", "Passed"), log
    assert "no todo" in log, log
    assert "Skipped" in log, log
    assert "As on pre-commit.ci, the hooks its `ci: skip` names do not run: `no-todo`." in (
        output.summary
    )


UV_PROJECT = {
    "pyproject.toml": """\
[project]
name = "lib"
version = "1"
requires-python = ">=3.9"

[dependency-groups]
dev = ["iniconfig"]
""",
    # typer's shape: its ruff and mypy hooks are `uv run …` with language: unsupported.
    ".pre-commit-config.yaml": """\
repos:
  - repo: local
    hooks:
      - id: uses-the-project
        name: uses the project's environment
        entry: uv run python -c "import iniconfig; print('found', iniconfig.__name__)"
        language: unsupported
        pass_filenames: false
        always_run: true
""",
}


async def test_local_hooks_that_uv_run_get_the_project_s_locked_environment(
    tmp_path: Path,
    venv_templates: Path,
) -> None:
    plan = tmp_path / "plan"
    plan.mkdir()
    for name, text in UV_PROJECT.items():
        (plan / name).write_text(text)
    locked = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).with_name("uv")), "lock", "--quiet"],
        cwd=plan,
        env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert locked.returncode == 0, locked.stderr
    files = {**UV_PROJECT, "uv.lock": (plan / "uv.lock").read_text()}
    check = pre_commit_check(plan)
    assert check.dependency_files == (".pre-commit-config.yaml", "pyproject.toml", "uv.lock")
    world = World(tmp_path, make_runner(tmp_path, venvs=venv_templates))

    outcome, log = await world.run(check, files=files)

    output = build_output(outcome)
    assert (output.conclusion, output.title) == ("success", "Passed"), log
    assert "syncing the project's environment from uv.lock" in log
    assert "uses the project's environment" in log
