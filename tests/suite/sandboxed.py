"""Running a check with the real runner and the real sandbox, for the tests of app/suite: a
checkout written from files (a git repository), a runner with its own caches."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path

from app.report.summary import SuiteOutcome
from app.suite.environments import EnvironmentCache
from app.suite.plan import CheckSpec
from app.suite.pythons import discover
from app.suite.runlog import Masker, RunLog
from app.suite.runner import Runner
from app.suite.sandbox import open_sandbox


def check(
    install: tuple[str, ...] = (), test: tuple[str, ...] = ("true",), **more: object
) -> CheckSpec:
    """A check of these commands, as a plan would make it."""
    return CheckSpec("tests", "", install, test, **more)  # type: ignore[arg-type]


class World:
    def __init__(self, root: Path, runner: Runner) -> None:
        self.root = root
        self.runner = runner
        self.runs = 0

    async def run(
        self,
        spec: CheckSpec,
        *,
        artifacts: Path | None = None,
        files: Mapping[str, str] | None = None,
        **options: object,
    ) -> tuple[SuiteOutcome, str]:
        """`spec` run on a checkout of `files` (a git repository), by default one test file."""
        self.runs += 1
        workspace = self.root / f"src-{self.runs}"
        for name, text in (files or {"test_nothing.py": "def test():\n    pass\n"}).items():
            (workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (workspace / name).write_text(textwrap.dedent(text))
        for git in (["git", "init", "-q"], ["git", "add", "-A"]):
            await asyncio.to_thread(subprocess.run, git, cwd=workspace, check=True)
        artifacts = artifacts or self.root / f"run-{self.runs}"
        log = RunLog(artifacts / "output.log", Masker(()))
        try:
            outcome = await self.runner.run(
                spec,
                repository="repo",
                workspace=workspace,
                artifacts=artifacts,
                log=log,
                **options,  # type: ignore[arg-type]
            )
        finally:
            log.close()
        return outcome, (artifacts / "output.log").read_text()


def make_runner(root: Path, *, venvs: Path | None = None, **fields: object) -> Runner:
    """A runner whose caches are in `root`; `venvs`: the session's venv templates (the
    `venv_templates` fixture), else its own."""
    return Runner(
        sandbox=open_sandbox(),
        interpreters=discover(),
        environments=EnvironmentCache(root / "environments", venvs=venvs),
        downloads=root / "downloads",
        **fields,  # type: ignore[arg-type]
    )
