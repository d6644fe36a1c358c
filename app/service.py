"""One Conveyor process, wired: the database, GitHub, the pipeline, and what this process runs.

`python -m app` runs everything in one process (the one-machine setup); `python -m app web`
answers webhooks and serves pages but runs no tests; `python -m app worker` runs tests and
serves nothing. They share the database (PostgreSQL when several machines take part); each one
also sweeps, so any of them takes over from another that died.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from app.github.client import GitHubClient
from app.github.installations import exposure_warning, open_to_anyone
from app.intake import Intake
from app.metrics import Metrics
from app.reporter import Reporter
from app.scheduler import Scheduler
from app.settings import Settings
from app.state import State, open_state
from app.state.database import describe
from app.state.presence import Presence
from app.suite.egress import EgressPolicy
from app.suite.environments import EnvironmentCache
from app.suite.package_index import index_credentials, package_index_settings
from app.suite.pythons import discover
from app.suite.runner import Runner
from app.suite.sandbox import Limits, SandboxUnavailable, open_sandbox
from app.sweeper import Sweeper
from app.worker import WorkerPool, WorkerSettings

log = logging.getLogger(__name__)


@dataclass
class Service:
    settings: Settings
    state: State
    metrics: Metrics
    session: aiohttp.ClientSession
    intake: Intake
    presence: Presence
    sweeper: Sweeper
    pool: WorkerPool | None
    # Says at start, when ALLOWED_OWNERS is not set, who can run code here (never blocks it).
    exposure: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, settings: Settings, *, role: str, workers: int) -> Service:
        """Open everything, take over from dead processes, then start the loops."""
        state = open_state(settings.database_url, settings.data_dir)
        log.info("data: %s", describe(settings.database_url, settings.data_dir))
        metrics = Metrics(state.jobs, state.installations) if role != "worker" else Metrics(None)
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.github_timeout),
            trace_configs=[metrics.trace_config()],
        )
        gh = GitHubClient(
            session,
            api_url=settings.api_url,
            app_id=settings.app_id,
            private_key=settings.private_key,
        )
        reporter = Reporter(gh, settings.public_url)
        scheduler = Scheduler(state.jobs, reporter)
        presence = Presence(state.processes, role)
        pool: WorkerPool | None = None
        intake = Intake(
            app_id=settings.app_id,
            state=state,
            scheduler=scheduler,
            gh=gh,
            allowed_owners=settings.allowed_owners,
        )
        if workers:
            runner, refusal = _runner(settings)
            secrets: tuple[str, ...] = (settings.private_key, settings.webhook_secret)
            if settings.database_password:
                secrets += (settings.database_password,)
            if runner is not None:
                secrets += index_credentials(runner.install_env)
            pool = WorkerPool(
                WorkerSettings(
                    settings.data_dir,
                    workers,
                    settings.job_timeout,
                    secrets=secrets,
                    refusal=refusal,
                    secrets_file=settings.secrets_file,
                    log_limit=settings.log_limit_kb * 1024,
                    log_retention=settings.log_retention_days * 86400.0,
                ),
                gh=gh,
                state=state,
                scheduler=scheduler,
                reporter=reporter,
                runner=runner,
                worker_id=presence.id,
            )
            metrics.track_slots(workers, lambda: len(scheduler.running_here()))
        sweeper = Sweeper(
            state=state,
            scheduler=scheduler,
            intake=intake,
            presence=presence,
            runs_jobs=pool is not None,
            job_timeout=settings.job_timeout,
            interval=settings.sweep_interval,
        )
        presence.register()
        presence.start()
        await sweeper.take_over()
        if pool is not None:
            pool.start()
        sweeper.start()
        log.info(
            "Conveyor %s is ready (process %s): %d workers, data folder %s",
            role,
            presence.id,
            workers,
            settings.data_dir,
        )
        exposure = None
        if settings.allowed_owners is None:
            exposure = asyncio.create_task(_warn_open_to_anyone(gh, settings.github_timeout))
        return cls(settings, state, metrics, session, intake, presence, sweeper, pool, exposure)

    async def stop(self) -> None:
        """Running jobs go back to the queue (another process, or this one restarted, runs
        them again); then this process leaves."""
        if self.exposure is not None:
            self.exposure.cancel()
        await self.sweeper.stop()
        if self.pool is not None:
            await self.pool.stop()
        await self.presence.stop()
        await self.session.close()
        self.state.close()


async def _warn_open_to_anyone(gh: GitHubClient, timeout: float) -> None:
    # Not wait_for: the client retries on TimeoutError, which can swallow wait_for's cancel.
    asking = asyncio.ensure_future(exposure_warning(gh))
    try:
        done, _ = await asyncio.wait({asking}, timeout=timeout)
    finally:
        asking.cancel()
    why = f"no answer within {timeout:.0f}s"
    answer = None
    if done:
        try:
            answer = asking.result()
        except Exception as error:  # whatever it is, the warning still goes out
            why = f"{type(error).__name__}: {error}"
    log.warning("%s", answer or open_to_anyone(None, None, why))


# Folders the runs need (read-only): a secret file in one of them is hidden alone.
NEEDED_FOLDERS = (Path("/"), Path("/etc"))
NEEDED_TREES = (Path("/usr"), Path("/etc/ssl"), Path("/etc/alternatives"))


def hidden_for(secret_file: Path) -> Path:
    """What to hide from the runs for a file holding secrets: its folder, which may also hold
    its backups and the next version of it; only the file when that folder is one runs need
    (a key kept in /etc itself)."""
    folder = secret_file.parent
    if folder in NEEDED_FOLDERS or any(folder.is_relative_to(tree) for tree in NEEDED_TREES):
        return secret_file
    return folder


def _runner(settings: Settings) -> tuple[Runner | None, str | None]:
    """The sandbox and interpreters, probed once; without a sandbox, why tests will not run."""
    hidden = [settings.data_dir]
    for secret_file in (settings.private_key_path, settings.secrets_file):
        if secret_file is not None:
            hidden.append(hidden_for(secret_file))
    try:
        sandbox = open_sandbox(allow_unsandboxed=settings.allow_unsandboxed, hidden=hidden)
    except SandboxUnavailable as error:
        log.error(
            "no sandbox: %s. Tests will not run (ALLOW_UNSANDBOXED=true runs them "
            "without one: only for code you trust).",
            error,
        )
        return None, (
            f"This Conveyor has no sandbox for untrusted code ({error}), and its operator did "
            "not allow running tests without one."
        )
    if sandbox.mode == "none":
        log.warning("sandbox: %s", sandbox.description)
    else:
        log.info("sandbox: %s", sandbox.description)
    interpreters = discover()
    log.info("Python versions: %s", ", ".join(i.version for i in interpreters) or "none")
    install_env = package_index_settings(os.environ)
    runner = Runner(
        sandbox=sandbox,
        interpreters=interpreters,
        environments=EnvironmentCache(settings.data_dir / "environments"),
        downloads=settings.data_dir / "downloads",
        limits=Limits(
            memory_bytes=settings.job_memory_mb * 1024 * 1024,
            processes=settings.job_processes,
            disk_bytes=settings.job_disk_mb * 1024 * 1024,
        ),
        install_env=install_env,
        egress=EgressPolicy.from_settings(dict(install_env), os.environ),
    )
    return runner, None
