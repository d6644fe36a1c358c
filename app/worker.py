"""Workers: take a job, fetch the commit, work out its plan, run the check, report the verdict."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from app.github.client import GitHubClient
from app.job_secrets import Trust, masked, secrets_for
from app.report.insight import Comparison, ReportContext
from app.report.model import CheckOutput
from app.report.summary import SuiteOutcome, build_output
from app.reporter import Reporter
from app.scheduler import Scheduler, cancelled_output
from app.state import State
from app.state.database import WriteError
from app.state.jobs import (
    DEFAULT_CHECKS,
    FINISHED,
    INTERRUPTED_STOPPED,
    QUEUED,
    Job,
    JobQueue,
)
from app.suite.checkout import CheckoutError, Deadline, Mirrors, borrow_objects_from
from app.suite.plan import (
    ConfigError,
    Plan,
    check_names,
    plan_from_json,
    plan_to_json,
)
from app.suite.planning_process import Planner
from app.suite.runlog import Masker, RunLog
from app.suite.runner import Runner
from app.suite.sandbox import Mount
from app.suite.secret_values import SecretsFileError, repository_secrets

log = logging.getLogger(__name__)

# Words in a commit message that skip the run (it still reports, as `skipped`).
SKIP_MARKERS = ("[skip ci]", "[ci skip]", "[skip conveyor]")
GIT_OBJECTS = "/conveyor/git-objects"  # the mirror's objects, read-only, in the sandbox
IDLE_POLL = 5.0  # a wake-up can be missed only by another process; poll now and then anyway
WATCH_INTERVAL = 2.0  # how often running jobs are checked for a cancel from another process
LOG_SHIP_INTERVAL = 1.0  # how stale the log on the details page may be
LOG_CHUNK = 256 * 1024
# How often folders of runs that ended elsewhere are looked for (a job this process ran, finished
# by another after this one was taken for dead).
LEFTOVER_INTERVAL = 600.0


@dataclass(frozen=True)
class WorkerSettings:
    data_dir: Path
    workers: int
    job_timeout: float
    # Values that must never appear in a log: the app's key, the webhook secret.
    secrets: tuple[str, ...] = ()
    # Why tests cannot run here (no sandbox, and the operator did not allow running without).
    refusal: str | None = None
    # The operator's values for the secrets repositories name (see app/suite/secret_values.py).
    secrets_file: Path | None = None
    # A run's log is capped at this many bytes (head and tail kept), on disk and in the database.
    log_limit: int = 16 * 1024 * 1024
    # Seconds a finished run's log is kept in the database.
    log_retention: float = 90 * 86400.0


class WorkerPool:
    def __init__(
        self,
        settings: WorkerSettings,
        *,
        gh: GitHubClient,
        state: State,
        scheduler: Scheduler,
        reporter: Reporter,
        runner: Runner | None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.worker_id = worker_id  # this process, as the queue knows it
        self.gh = gh
        # Jobs read, and the run's facts recorded; a job's state is the scheduler's.
        self.queue = state.jobs
        self.db = state.db  # its calls are made off the event loop (`run`)
        self.logs = state.logs
        self.history = state.history
        self.scheduler = scheduler
        self.reporter = reporter
        self.runner = runner
        self.mirrors = Mirrors(settings.data_dir / "mirrors")
        self.trust = Trust(self.mirrors, self.db, self.queue)
        # Plans in a child process, bounded in time and memory, off the event loop.
        self.planner = Planner()
        self._tasks: list[asyncio.Task[None]] = []
        self._planning: dict[tuple[int, str], asyncio.Lock] = {}

    def start(self) -> None:
        _remove(self._leftovers())  # before any job can start: no run's folder is in use
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"worker-{n}")
            for n in range(self.settings.workers)
        ]
        if self.settings.workers:
            self.planner.prepare()
            self._tasks.append(asyncio.create_task(self._watch(), name="worker-watch"))
            self._tasks.append(asyncio.create_task(self._listen(), name="worker-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.planner.aclose()

    def _leftovers(self) -> list[Path]:
        """Folders of finished runs that a killed process could not remove (a job the sweeper
        ended after its process died). A job still queued or running is left alone: another
        process may have it, and its next attempt starts by emptying them anyway. A finished
        job's folders are never in use: its worker removes them before recording the verdict."""
        found = []
        for folder, job_of in (
            (self.settings.data_dir / "runs", self.queue.by_public_id),
            (self.settings.data_dir / "workspaces", _by_id(self.queue)),
        ):
            with contextlib.suppress(OSError):
                for entry in list(folder.iterdir()):
                    job = job_of(entry.name)
                    if job is None or job.state == FINISHED:
                        found.append(entry)
        return found

    async def _listen(self) -> None:
        """Jobs announced by other processes (web processes, another machine's sweeper)."""
        async for _ in self.queue.ready_signals():
            self.scheduler.ready.set()

    async def _watch(self) -> None:
        """Cancels asked for by other processes, and jobs taken over by one (this process
        was taken for dead): both stop here. Now and then, folders of runs that ended, and
        logs older than LOG_RETENTION_DAYS."""
        swept = time.monotonic()
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if time.monotonic() - swept > LEFTOVER_INTERVAL:
                swept = time.monotonic()
                try:
                    # Found on the database's thread, removed on another: a big tree would
                    # hold SQLite's one thread, and every worker's call waiting on it, for seconds.
                    await asyncio.to_thread(_remove, await self.db.run(self._leftovers))
                    await self.db.run(
                        self.logs.forget_finished_before, time.time() - self.settings.log_retention
                    )
                except Exception:
                    log.exception("cannot remove what ended runs left")
            running = self.scheduler.running_here()
            if not running:
                continue
            try:
                for job_id in await self.db.run(self.queue.cancel_requested, running):
                    self.scheduler.stop(job_id)
                mine = {job.id for job in await self.db.run(self.queue.running_on, self.worker_id)}
                for job_id in running - mine:
                    log.warning("job %s: taken over by another process; stopping here", job_id)
                    self.scheduler.stop(job_id)
            except Exception:
                log.exception("cannot check the running jobs")

    async def _loop(self) -> None:
        ready = self.scheduler.ready
        while True:
            claimed = await self.scheduler.claim(self.worker_id)
            if claimed is None:
                ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), IDLE_POLL)
                continue
            # A job that finds others waiting wakes the next worker too.
            ready.set()
            job = claimed.job
            try:
                await self.run(job, claimed.cancel)
            except asyncio.CancelledError:
                # The service is stopping: the job runs again when it is back.
                await self.scheduler.stopped(job.id, self.worker_id, INTERRUPTED_STOPPED)
                raise
            except Exception:
                log.exception("job %s: worker failed", job.id)

    async def run(self, job: Job, cancel: asyncio.Event) -> None:
        artifacts = self.settings.data_dir / "runs" / job.public_id
        workspace = self.settings.data_dir / "workspaces" / str(job.id)
        masker = Masker(self.settings.secrets)
        try:
            await self.reporter.started(job)
            # A fresh token for every job: a job may outlive the cached one.
            token = await self.gh.token(job.request.installation_id)
            values = repository_secrets(self.settings.secrets_file, job.request.repo_full_name)
            # Every value the repository has is masked, whether this check asks for it or not.
            masker = Masker((token, *self.settings.secrets, *values.values()))
            # Each attempt starts from an empty folder: nothing an earlier one (killed midway)
            # left there is read as this one's.
            shutil.rmtree(artifacts, ignore_errors=True)
            run_log = RunLog(artifacts / "output.log", masker, limit=self.settings.log_limit)
            if job.earlier_attempts:
                run_log.line(job.earlier_attempts)
            shipped = asyncio.Event()
            shipping = asyncio.create_task(self._ship_log(job, run_log, shipped))
            try:
                output = await self._execute(
                    job, token, workspace, artifacts, run_log, cancel, values
                )
            finally:
                run_log.close()
                shipped.set()
                await shipping
        except asyncio.CancelledError:
            raise
        except SecretsFileError as error:
            log.error("job %s: %s", job.id, error)
            output = CheckOutput(
                "failure",
                "Conveyor's secrets file cannot be used",
                "The secrets file of this Conveyor cannot be read, so this check did not run. "
                "Its operator can find why in the service log.",
            )
        except Exception as error:
            if cancel.is_set() and isinstance(error, CheckoutError):
                # A git command (the checkout, or which branch holds the commit: trust)
                # stopped by the cancel: the run was cancelled, nothing went wrong.
                current = await self.db.run(self.queue.get, job.id)
                output = cancelled_output(current or job)
            else:
                log.exception("job %s: failed inside Conveyor", job.id)
                output = CheckOutput(
                    "failure",
                    "Conveyor could not run this check",
                    f"An error inside Conveyor stopped this run: `{type(error).__name__}`. "
                    "The service log has the details; re-run the check to try again.",
                )
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
            # The reports are read and the log is in the database: what the page shows.
            shutil.rmtree(artifacts, ignore_errors=True)
        # Failure messages and annotations come from the tests too: a secret they print (or
        # put in an assertion) is masked there as in the log.
        output = CheckOutput.from_json(masked(output.to_json(), masker))
        await self.scheduler.finish(job, output, worker=self.worker_id)

    async def _ship_log(self, job: Job, run_log: RunLog, done: asyncio.Event) -> None:
        """Copy the log into the database as it grows: the details page is served by a web
        process, which may be on another machine. What the log's cap dropped from its middle is
        dropped there too, so the database holds what the disk holds."""
        sent = trimmed = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), LOG_SHIP_INTERVAL)
            try:
                while True:
                    start, data = run_log.read(sent, LOG_CHUNK)
                    if not data:
                        break
                    await self.db.run(self.logs.append, job.id, start, data, attempt=job.attempts)
                    sent = start + len(data)
                if run_log.head_end is not None and run_log.kept_from > trimmed:
                    await self.db.run(
                        self.logs.trim, job.id, job.attempts, run_log.head_end, run_log.kept_from
                    )
                    trimmed = run_log.kept_from
            except (OSError, WriteError) as error:
                if done.is_set():
                    # The run's folder goes next: the page shows what the database has.
                    log.warning("job %s: the end of its log is lost: %s", job.id, error)
                else:
                    log.warning("job %s: log not copied to the database yet: %s", job.id, error)
            if done.is_set():
                return

    async def _execute(
        self,
        job: Job,
        token: str,
        workspace: Path,
        artifacts: Path,
        run_log: RunLog,
        cancel: asyncio.Event,
        secrets: dict[str, str],
    ) -> CheckOutput:
        if self.runner is None or self.settings.refusal:
            return CheckOutput(
                "failure",
                "No sandbox: tests not run",
                self.settings.refusal or "This Conveyor cannot run tests.",
            )
        started = time.monotonic()
        # Every git step ends by the job's deadline (or its cancel), planning's own too.
        deadline = Deadline.after(self.settings.job_timeout, cancel)
        run_log.section(f"Fetching {job.request.head_sha} ({job.request.fetch_ref})")
        try:
            await self.mirrors.checkout(
                key=str(job.request.repo_id),
                clone_url=job.request.clone_url,
                # A fork's commits are public in the base repository: the token fetches them,
                # and the token never enters the sandbox.
                token=token,
                ref=job.request.fetch_ref,
                sha=job.request.head_sha,
                workspace=workspace,
                deadline=deadline,
            )
        except CheckoutError as error:
            if cancel.is_set():
                raise  # the run was cancelled: `run` says so, as for every git step
            return CheckOutput(
                error.conclusion,
                error.title,
                f"Conveyor could not check out `{job.request.head_sha}` from "
                f"`{job.request.repo_full_name}`:\n\n"
                f"```\n{error}\n```",
            )
        run_log.line(f"Fetched in {time.monotonic() - started:.2f}s")
        message = await self.mirrors.commit_message(
            str(job.request.repo_id), job.request.head_sha, deadline
        )
        marker = next((m for m in SKIP_MARKERS if m in message.lower()), None)
        if marker is not None:
            return CheckOutput(
                "skipped",
                f"Skipped: {marker} in the commit message",
                f"The commit message of `{job.request.head_sha[:10]}` says `{marker}`, so "
                "Conveyor did not run this check. It still reports, so that a required check is "
                "not left waiting. Push a commit without it (or re-run the check) to test.",
            )
        plan = await self._plan(job, workspace)
        if isinstance(plan, CheckOutput):
            return plan
        renamed = await self.db.run(self.queue.get, job.id)
        job = renamed or job  # planning may have renamed it
        spec = next((c for c in plan.checks if c.name == job.check_name), None)
        if spec is None:
            if plan.origin == "detected" and job.check_name in DEFAULT_CHECKS:
                return CheckOutput(
                    "neutral",
                    "No tests found",
                    "\n\n".join(plan.notes) or "Conveyor found no tests in this commit.",
                )
            return _not_configured(job.check_name)
        trusted = await self.trust.decide(job, token, run_log, deadline)
        await self.scheduler.trusted(job, trusted)
        remaining = max(1.0, self.settings.job_timeout - (time.monotonic() - started))
        spec = replace(spec, timeout=min(spec.timeout, remaining))
        given = secrets_for(spec, secrets, run_log, trusted=trusted)
        objects = self.mirrors.objects(str(job.request.repo_id))
        shown_at = str(objects)
        if self.runner.sandbox.mode != "none":
            shown_at = GIT_OBJECTS
            borrow_objects_from(workspace, shown_at)
        outcome = await self.runner.run(
            spec,
            repository=str(job.request.repo_id),
            workspace=workspace,
            artifacts=artifacts,
            log=run_log,
            cancel=cancel,
            # The workspace borrows the mirror's objects: git inside needs them.
            shared=(Mount(objects, shown_at),),
            only_tests=job.request.only_tests,
            trusted=trusted,
            secrets=given,
            detected=plan.origin == "detected",
        )
        if outcome.cancelled:
            current = await self.db.run(self.queue.get, job.id)
            return cancelled_output(current or job)
        context = await self._context(job, token, outcome, deadline)
        return build_output(
            replace(outcome, log_url=f"{self.reporter.details_url(job)}/log"), context
        )

    async def _context(
        self, job: Job, token: str, outcome: SuiteOutcome, deadline: Deadline
    ) -> ReportContext:
        """Keep this run's results, and gather what it is compared with."""
        cases = outcome.results.cases if outcome.results else ()
        await self.db.run(self.history.record, job, [(c.node_id, c.outcome, c.time) for c in cases])
        await self.scheduler.covered(job, outcome.coverage)
        base = await self.db.run(self.queue.base_run, job)
        comparison = None
        if base is not None and base.request.head_branch:
            comparison = Comparison(
                branch=base.request.head_branch,
                sha=base.request.head_sha,
                failing=frozenset(await self.db.run(self.history.failing_tests, base.id)),
                coverage=base.coverage,
            )
        failed_earlier = await self.db.run(self.history.failed_earlier_on_this_commit, job)
        flaky = [c.node_id for c in cases if c.outcome == "passed" and c.node_id in failed_earlier]
        changed: dict[str, frozenset[int]] = {}
        if job.request.pull_number and job.request.base_branch and any(c.frames for c in cases):
            changed = await self.mirrors.changed_lines(
                key=str(job.request.repo_id),
                clone_url=job.request.clone_url,
                token=token,
                base_branch=job.request.base_branch,
                sha=job.request.head_sha,
                deadline=deadline,
            )
        return ReportContext(
            head_sha=job.request.head_sha,
            html_url=job.request.html_url,
            comparison=comparison,
            failed_earlier=failed_earlier,
            flakiness=await self.db.run(self.history.flakiness, job, flaky),
            only_tests=job.request.only_tests,
            changed_lines=changed,
        )

    async def _plan(self, job: Job, workspace: Path) -> Plan | CheckOutput:
        """The commit's plan: worked out by its first job, reused by the others."""
        lock = self._planning.setdefault(
            (job.request.repo_id, job.request.head_sha), asyncio.Lock()
        )
        async with lock:
            stored = await self.db.run(
                self.queue.stored_plan, job.request.repo_id, job.request.head_sha
            )
            if stored is None:
                available = [i.version for i in self.runner.interpreters] if self.runner else []
                try:
                    plan = await self.planner.plan(workspace, available)
                except ConfigError as error:
                    stored = await self.db.run(
                        self.queue.save_plan,
                        job.request.repo_id,
                        job.request.head_sha,
                        None,
                        str(error),
                        DEFAULT_CHECKS,
                    )
                else:
                    stored = await self.db.run(
                        self.queue.save_plan,
                        job.request.repo_id,
                        job.request.head_sha,
                        plan_to_json(plan),
                        None,
                        check_names(plan, DEFAULT_CHECKS),
                    )
                    await self._reconcile(job, plan)
        self._planning.pop((job.request.repo_id, job.request.head_sha), None)
        if stored.error is not None:
            return CheckOutput(
                "failure",
                "Configuration error",
                f"Conveyor could not read this repository's configuration:\n\n"
                f"> **{stored.error}**\n\nFix it and push again; the README of Conveyor "
                "describes the format.",
            )
        assert stored.plan is not None
        return plan_from_json(stored.plan)

    async def _reconcile(self, job: Job, plan: Plan) -> None:
        """Give each planned check its job; end the queued jobs of checks the plan dropped.

        The check runs a commit gets at once are named after the repository's last plan (or
        `tests`); when this commit's plan names others, the first job takes the first new name
        (its check run is renamed), so no stray check is left behind.
        """
        wanted = check_names(plan, DEFAULT_CHECKS)
        existing = await self.db.run(
            self.queue.jobs_for_commit, job.request.repo_id, job.request.head_sha
        )
        have = {j.check_name for j in existing}
        missing = [name for name in wanted if name not in have]
        if job.check_name not in wanted and missing:
            renamed = await self.scheduler.rename(job, missing.pop(0))
            await self.reporter.renamed(renamed)
        for name in missing:
            await self.scheduler.add(job.request, name)
        for other in existing:
            if other.id != job.id and other.check_name not in wanted and other.state == QUEUED:
                await self.scheduler.finish(other, _not_configured(other.check_name))


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _by_id(queue: JobQueue) -> Callable[[str], Job | None]:
    """The job of a workspace folder (named by the job's id)."""
    return lambda name: queue.get(int(name)) if name.isdigit() else None


def _not_configured(name: str) -> CheckOutput:
    return CheckOutput(
        "skipped",
        "Not configured for this commit",
        f"This commit's configuration has no check named `{name}`.",
    )
