"""`python -m app check [PATH]`: run a local checkout's checks as the service would.

The same plan, sandbox, environments and report as a pull request gets; the check runs are
printed instead of posted. The exit code is 0 only when every check succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from app.report.model import CheckOutput
from app.report.summary import build_output
from app.report.terminal import render
from app.suite.egress import EgressPolicy
from app.suite.environments import EnvironmentCache
from app.suite.package_index import index_credentials, package_index_settings
from app.suite.plan import ConfigError, check_names
from app.suite.planner import make_plan
from app.suite.pythons import discover
from app.suite.runlog import Masker, RunLog
from app.suite.runner import Runner
from app.suite.sandbox import SandboxUnavailable, open_sandbox

# Left out of the copy the checks run on: environments and caches of the developer's own.
NOT_COPIED = (
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "build",
    "dist",
    ".eggs",
)


def cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conveyor"


def main(args: argparse.Namespace) -> int:
    return run_check_command(Path(args.path), verbose=args.verbose)


def run_check_command(path: Path, *, verbose: bool = False) -> int:
    return asyncio.run(_check(path.resolve(), verbose))


async def _check(path: Path, verbose: bool) -> int:
    if not path.is_dir():
        print(f"conveyor check: {path}: not a folder", file=sys.stderr)
        return 2
    try:
        sandbox = open_sandbox(allow_unsandboxed=True, hidden=[cache_home()])
    except SandboxUnavailable as error:  # only when even a plain subprocess is impossible
        print(f"conveyor check: {error}", file=sys.stderr)
        return 2
    if sandbox.mode == "none":
        print(f"note: {sandbox.description}", file=sys.stderr)
    interpreters = discover()
    try:
        plan = make_plan(path, [i.version for i in interpreters])
    except ConfigError as error:
        print(render("configuration", CheckOutput("failure", "Configuration error", str(error))))
        return 1
    # As the service does: a detected plan without tests still reports `tests`, with the note
    # that says why, even when another check (pre-commit) runs.
    planned = {spec.name for spec in plan.checks}
    unplanned = [name for name in check_names(plan, ("tests",)) if name not in planned]
    for name in unplanned:
        notes = "\n\n".join(plan.notes) or "No tests found."
        print(render(name, CheckOutput("neutral", "No tests found", notes)) + "\n")
    if not plan.checks:
        return 1
    # As the service does: the package index and the proxy of this machine's environment.
    install_env = package_index_settings(os.environ)
    runner = Runner(
        sandbox=sandbox,
        interpreters=interpreters,
        environments=EnvironmentCache(cache_home() / "environments"),
        downloads=cache_home() / "downloads",
        install_env=install_env,
        egress=EgressPolicy.from_settings(dict(install_env), os.environ),
    )
    all_passed = True
    with tempfile.TemporaryDirectory(prefix="conveyor-check-") as tmp:
        for number, spec in enumerate(plan.checks):
            print(f"==> {spec.name}", file=sys.stderr, flush=True)
            workspace = Path(tmp) / f"src-{number}"
            shutil.copytree(
                path, workspace, symlinks=True, ignore=shutil.ignore_patterns(*NOT_COPIED)
            )
            artifacts = Path(tmp) / f"out-{number}"
            log = RunLog(artifacts / "output.log", Masker(index_credentials(install_env)))
            try:
                outcome = await runner.run(
                    spec,
                    repository=_repository_key(path),
                    workspace=workspace,
                    artifacts=artifacts,
                    log=log,
                    detected=plan.origin == "detected",
                )
            finally:
                log.close()
            output = build_output(replace(outcome, log_url=None))
            print(render(spec.name, output, with_text=verbose or output.conclusion != "success"))
            print()
            all_passed &= output.conclusion == "success"
    return 0 if all_passed and not unplanned else 1


def _repository_key(path: Path) -> str:
    """Environments of one local project are kept together, apart from other projects'."""
    return "local-" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
