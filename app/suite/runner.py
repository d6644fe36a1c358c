"""Run one check of a checked-out project: the entry the worker and `conveyor check` call.

What every check shares (the sandbox, interpreters, environment cache, limits) is the `Runner`'s.
It gives each run its folders and removes them after, keeps what a fork's run builds apart, and
runs a detected check once more when its first try says how (from the checkout, with an extra).
The check's steps themselves (interpreter, environment, tests) are check_run.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.report.summary import SuiteOutcome
from app.suite.check_run import CheckRun
from app.suite.egress import EgressPolicy
from app.suite.environments import EnvironmentCache
from app.suite.extras import retry_with_extra
from app.suite.from_checkout import from_checkout
from app.suite.plan import TOOL_ENVIRONMENTS, CheckSpec
from app.suite.pythons import Interpreter
from app.suite.run_outputs import make_empty
from app.suite.runlog import RunLog
from app.suite.sandbox import Limits, Mount, Sandbox


@dataclass(frozen=True)
class Runner:
    """What every check of the service shares: the sandbox, interpreters, caches, limits."""

    sandbox: Sandbox
    interpreters: tuple[Interpreter, ...]
    environments: EnvironmentCache
    downloads: Path  # per-repository pip caches: downloads are not the environment
    limits: Limits = field(default_factory=Limits)
    install_env: tuple[tuple[str, str], ...] = ()
    # What network-on commands may reach besides the internet, and the operator's proxies.
    egress: EgressPolicy = field(default_factory=EgressPolicy)

    async def run(
        self,
        spec: CheckSpec,
        *,
        repository: str,
        workspace: Path,
        artifacts: Path,
        log: RunLog,
        cancel: asyncio.Event | None = None,
        shared: Sequence[Mount] = (),
        only_tests: tuple[str, ...] = (),
        trusted: bool = True,
        secrets: Mapping[str, str] | None = None,
        detected: bool = False,
    ) -> SuiteOutcome:
        """`shared`: read-only folders the project needs as they are (its git objects);
        `only_tests`: pytest node ids, to re-run just those; not `trusted` (a fork's pull
        request): what its installs download and build is used by this run alone, and the
        package index is reached without the operator's credentials; `secrets`: variables for
        the commands, which never decide anything else (the environment's key, say);
        `detected`: the check is Conveyor's guess, not the repository's own words, so a test
        step that fails importing a module one of the project's extras brings is run once more
        with that extra installed (app/suite/extras.py), and the summary says so.

        `artifacts/in` and `artifacts/out` are made empty for the run and removed after it: the
        commands may plant anything in `out` (a link to a host file, say), so nothing of an
        earlier attempt is read and nothing the service writes ever goes there."""
        folders = (
            artifacts / "in",
            artifacts / "out",
            artifacts / "egress",
            artifacts / TOOL_ENVIRONMENTS,
        )
        for folder in folders:
            make_empty(folder)
        try:
            async with contextlib.AsyncExitStack() as throwaways:
                downloads = self.downloads / repository
                if not trusted:
                    downloads = await throwaways.enter_async_context(self.environments.throwaway())

                def check(spec: CheckSpec) -> CheckRun:
                    return CheckRun(
                        self,
                        spec,
                        repository,
                        workspace,
                        artifacts,
                        log,
                        cancel,
                        shared,
                        only_tests,
                        downloads,
                        None if trusted else throwaways,
                        dict(secrets or {}),
                    )

                first = check(spec)
                outcome = await first.run()
                if not detected:
                    return outcome
                again = await asyncio.to_thread(_second_try, spec, workspace, first, outcome)
                if again is None:
                    return outcome
                why, second = again
                log.section(f"Again, {why}")
                for folder in folders:
                    make_empty(folder)
                return await check(second).run()
        finally:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)


def _second_try(
    spec: CheckSpec, workspace: Path, first: CheckRun, outcome: SuiteOutcome
) -> tuple[str, CheckSpec] | None:
    """Why and how a detected check runs once more, if it does: from the checkout when the
    project itself could not be installed, with an extra when the tests could not import what
    it brings."""
    if first.failed_install is not None:
        found = from_checkout(spec, workspace, first.failed_install)
        return (
            None if found is None else ("from the checkout (the project was not installed)", found)
        )
    if _failed_in_tests(outcome):
        said = first.said.decode(errors="replace")
        found = retry_with_extra(spec, workspace, said)
        return (
            None if found is None else ("with the extra that brings what the tests import", found)
        )
    return None


def _failed_in_tests(outcome: SuiteOutcome) -> bool:
    """The test commands ran and failed: not stopped before them, by a limit or by time."""
    return (
        outcome.returncode != 0
        and outcome.stopped is None
        and not outcome.timed_out
        and not outcome.cancelled
    )


__all__: Sequence[str] = ("Runner",)
