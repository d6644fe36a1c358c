"""The one writer of a job's state, and what each change tells GitHub and the workers.

A job is added (superseding older commits of its lane), its check run announced, then it is
claimed by a worker, and finished with a verdict; or cancelled, requeued when its process
stopped, or taken over from a dead process. Each of those is a method here, so that "record,
then tell GitHub" is written once: intake (webhooks), the workers and the sweeper call these,
the queue (app/state/jobs.py) stores, and the reporter (app/reporter.py) only talks to GitHub.

The workers of this process wait on `ready`; a running job of this process stops when its
`cancel` event is set. Both live here, so nothing needs the worker pool to exist first: the
pool takes its jobs, and their cancel events, from `claim`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace

from app.report.model import CheckOutput
from app.reporter import ANNOUNCE_STALE, Reporter
from app.run_request import RunRequest
from app.state.database import WriteError
from app.state.jobs import FINISHED, RUNNING, Job, JobQueue

log = logging.getLogger(__name__)

# How long a verdict the database could not take waits before it is tried again.
RECORD_RETRY = 5.0


@dataclass(frozen=True)
class Claimed:
    """A job this process runs now, and the event that stops it (a cancel, a take-over)."""

    job: Job
    cancel: asyncio.Event


class Scheduler:
    def __init__(self, queue: JobQueue, reporter: Reporter) -> None:
        self.queue = queue
        self.db = queue.db  # its calls are made off the event loop (`run`)
        self.reporter = reporter
        # Set when a job may be claimed: this process's workers wait on it.
        self.ready = asyncio.Event()
        # The jobs this process runs, each with the event that stops it.
        self._running: dict[int, asyncio.Event] = {}
        # One add at a time per repository in this process: `enqueue` takes the repository's
        # lock in the database anyway, and a burst of its deliveries then waits here rather
        # than in every database thread (which the workers and the sweeper need too).
        self._adding: dict[int, asyncio.Lock] = {}

    # -- adding ----------------------------------------------------------------------------------

    async def add(self, request: RunRequest, name: str, *, rerun_of: int | None = None) -> None:
        """One job for one check of the commit, its check run `queued` at once; older
        commits of the same branch or pull request are cancelled."""
        async with self._adding.setdefault(request.repo_id, asyncio.Lock()):
            enqueued = await self.db.run(self.queue.enqueue, request, name, rerun_of=rerun_of)
        for older in enqueued.superseded:
            await self.cancel(older)
        job = enqueued.job
        if job is None:
            log.debug("%s %s %s: already has a job", request.repo_full_name, request.head_sha, name)
            return
        log.info(
            "job %s: %s %s %r queued (%s)",
            job.id,
            job.request.repo_full_name,
            job.request.head_sha[:10],
            name,
            request.reason,
        )
        await self.announce(job)

    async def announce(self, job: Job) -> bool:
        """Create the job's check run; once it exists (True), the job can be claimed."""
        # Under load the POST can take longer than a sweep, and another process may sweep too:
        # a second announce meanwhile would create a duplicate run, left queued for ever.
        if not await self.db.run(self.queue.begin_announce, job.id, stale_after=ANNOUNCE_STALE):
            return False  # the first announce wakes the workers when it is done
        announced = None
        try:
            announced = await self.reporter.announce(job)
        finally:
            await self.db.run(
                self.queue.end_announce, job.id, announced.check_run_id if announced else None
            )
        if announced.check_run_id is not None:
            await self.wake_workers()
            return True
        if announced.never is not None:
            # GitHub will never create it: the job ends here, unrun, since its verdict could
            # go nowhere.
            output = CheckOutput(
                "skipped",
                "Not run: no check run on GitHub",
                f"Its check run could not be created: {announced.never}.",
            )
            try:
                await self.db.run(self.queue.finish, job.id, output)
                await self.db.run(self.queue.mark_reported, job.id)
            except WriteError as error:
                log.warning("job %s: could not record that it ends: %s", job.id, error)
        return False

    async def rename(self, job: Job, name: str) -> Job:
        """The job runs another check than it was added for (its plan says which)."""
        return await self.db.run(self.queue.rename, job.id, name)

    async def trusted(self, job: Job, trusted: bool) -> None:
        """Whether the job's code was trusted (job_secrets decides), kept for its re-runs."""
        await self.db.run(self.queue.set_trusted, job.id, trusted)

    async def covered(self, job: Job, coverage: float | None) -> None:
        """The run's line coverage, which later runs of the check are compared with."""
        await self.db.run(self.queue.set_coverage, job.id, coverage)

    # -- running -------------------------------------------------------------------------------

    async def wake_workers(self) -> None:
        """A job can be claimed now: tell the workers, in this process and the others."""
        self.ready.set()
        await self.db.run(self.queue.notify_ready)

    async def claim(self, worker: str | None) -> Claimed | None:
        """The oldest job that can run, now `worker`'s (this process)."""
        job = await self.db.run(self.queue.claim, worker)
        if job is None:
            return None
        cancel = self._running[job.id] = asyncio.Event()
        return Claimed(job, cancel)

    def running_here(self) -> frozenset[int]:
        return frozenset(self._running)

    def stop(self, job_id: int) -> None:
        """Stop a job this process runs (its worker finishes it as cancelled)."""
        event = self._running.get(job_id)
        if event is not None:
            event.set()

    async def stopped(self, job_id: int, worker: str | None, why: str) -> None:
        """This process stops while running the job: it goes back to the queue, to run again
        when the service is back (or in another process)."""
        self._running.pop(job_id, None)
        await self.db.run(self.queue.requeue, job_id, worker, why=why)

    # -- finishing -----------------------------------------------------------------------------

    async def finish(self, job: Job, output: CheckOutput, *, worker: str | None = None) -> None:
        """Record the verdict, then post it.

        With `worker`, only while that process still has the job: a verdict of a process
        taken for dead (another took the job over) is dropped. When the database cannot take
        it (a full disk), the verdict is posted from memory so that the check run does not stay
        in progress, and recording is tried again until it works; meanwhile the job stays
        among the running ones, so the sweeper leaves it be."""
        try:
            current = await self.db.run(self.queue.get, job.id)
            if current is None or current.state == FINISHED:
                return
            if worker is not None and current.worker != worker:
                log.warning("job %s: another process took it over; this verdict is dropped", job.id)
                return
            posted = False
            while True:
                try:
                    finished = await self.db.run(self.queue.finish, job.id, output)
                except WriteError as error:
                    if not posted:
                        log.error("job %s: cannot record its verdict (%s); posts it", job.id, error)
                        unrecorded = replace(
                            current,
                            state=FINISHED,
                            conclusion=output.conclusion,
                            output=output,
                            finished_at=time.time(),
                        )
                        posted = await self.deliver(unrecorded)
                    await asyncio.sleep(RECORD_RETRY)
                    continue
                if not posted:
                    await self.deliver(finished)
                else:
                    with contextlib.suppress(WriteError):
                        await self.db.run(self.queue.mark_reported, job.id)
                return
        finally:
            self._running.pop(job.id, None)

    async def deliver(self, job: Job) -> bool:
        """Post a finished job's verdict; True once GitHub has it. Reporting ends when GitHub
        has it or never will (the reporter says which); otherwise the sweeper tries again."""
        delivered = await self.reporter.deliver(job)
        if delivered != "retry":
            try:
                await self.db.run(self.queue.mark_reported, job.id)
            except WriteError as error:
                # GitHub has it (or never will); the sweeper may try once more when the disk
                # has room again.
                log.warning("job %s: reporting ended, but not recorded: %s", job.id, error)
        return delivered == "posted"

    # -- cancelling ----------------------------------------------------------------------------

    async def cancel(self, job: Job) -> None:
        """Stop a job: a queued one is finished right here, a running one by its worker (in
        this process at once; another process sees its cancel_reason within seconds)."""
        current = await self.db.run(self.queue.get, job.id)
        if current is None or current.state == FINISHED:
            return
        if current.state == RUNNING:
            self.stop(current.id)
            return
        await self.finish(current, cancelled_output(current))

    async def stop_installation(self, installation_id: int, why: str) -> int:
        """Cancel the installation's queued and running jobs; their check runs are left as
        they are (GitHub takes nothing more from the app there). How many there were."""
        self.reporter.uninstalled.add(installation_id)
        ended = 0
        for job in await self.db.run(self.queue.unfinished):
            if job.request.installation_id != installation_id:
                continue
            ended += 1
            await self.db.run(self.queue.request_cancel, job.id, why)
            await self.cancel(job)
        return ended

    def installation_back(self, installation_id: int) -> None:
        """Installed (or unsuspended) again: its check runs are updated again."""
        self.reporter.uninstalled.discard(installation_id)

    def installation_gone(self, installation_id: int) -> None:
        """Known to be uninstalled (from an earlier process): its verdicts are not posted."""
        self.reporter.uninstalled.add(installation_id)

    # -- after a process died ------------------------------------------------------------------

    async def take_over(self, job: Job, by: str, *, max_attempts: int) -> None:
        """A running job whose process is gone: run it again, unless that was its last go.
        Taking it is a conditional write, so when two processes notice the same death, one
        acts."""
        if not await self.db.run(self.queue.take, job.id, job.worker, by):
            return  # another process got there first
        if job.attempts >= max_attempts:
            await self.finish(
                job,
                CheckOutput(
                    "failure",
                    "Conveyor stopped while running these tests, twice",
                    "The process running these tests stopped in the middle of this run twice "
                    "in a row. Re-run the check to try once more.",
                ),
            )
            return
        log.info("job %s: its process (%s) is gone; queued again", job.id, job.worker)
        if not await self.db.run(self.queue.requeue, job.id, by):
            return
        if job.check_run_id is not None:
            await self.reporter.requeued(
                job, "The process running this check stopped; it will run again."
            )
        await self.wake_workers()


def cancelled_output(job: Job) -> CheckOutput:
    if job.superseded_by is not None:
        sha = job.superseded_by
        return CheckOutput(
            "cancelled",
            f"Superseded by {sha[:7]}",
            f"A newer commit, `{sha}`, was pushed to the same "
            f"{'pull request' if job.request.pull_number else 'branch'}; "
            "Conveyor tests that one instead.",
        )
    return CheckOutput("cancelled", "Cancelled", job.cancel_reason or "cancelled")
