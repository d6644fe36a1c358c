"""Makes sure no check run is left behind: the only loop that looks at everything.

Every process runs one. At start and then every few seconds it takes over what dead processes
left (their running jobs, the deliveries they never acted on); the oldest live process also
finishes what failed on the way: check runs GitHub did not create, verdicts GitHub did not take.
Only what GitHub may yet take comes back here: the reporter ends a job's reporting on an answer
that would only be repeated (a refused body, a check run or repository gone).
Taking over is a conditional write, so when two processes notice the same death, one acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from app.intake import Intake
from app.report.model import CheckOutput
from app.scheduler import Scheduler
from app.state import State
from app.state.jobs import QUEUED
from app.state.presence import Presence, ProcessRecord

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # a job that took the service down twice does not get a third go
DELIVERY_MEMORY = 3 * 24 * 3600  # GitHub redelivers for three days


class Sweeper:
    def __init__(
        self,
        *,
        state: State,
        scheduler: Scheduler,
        intake: Intake,
        presence: Presence,
        runs_jobs: bool,
        job_timeout: float,
        interval: float,  # seconds between sweeps (SWEEP_INTERVAL)
    ) -> None:
        self.state = state
        self.queue = state.jobs  # read here; the scheduler writes
        self.db = state.db  # its calls are made off the event loop (`run`)
        self.scheduler = scheduler
        self.intake = intake  # for the deliveries dead processes left
        self.presence = presence
        self.runs_jobs = runs_jobs  # this process has workers
        self.job_timeout = job_timeout
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._unattended: set[int] = set()  # running here by the records, in no worker task

    async def take_over(self) -> None:
        """What dead processes left: a restart after a crash picks up its own work here."""
        _, gone = await self.db.run(self.presence.processes)
        await self._take_over(gone)

    async def _take_over(self, gone: list[ProcessRecord]) -> None:
        dead = [record.id for record in gone]
        for job in await self.db.run(self.queue.orphaned_running, dead):
            await self.scheduler.take_over(job, self.presence.id, max_attempts=MAX_ATTEMPTS)
        for delivery in await self.db.run(self.state.deliveries.orphaned, dead):
            if await self.db.run(
                self.state.deliveries.take,
                delivery.delivery_id,
                delivery.received_by,
                self.presence.id,
            ):
                await self.intake.process(delivery)
        for record in gone:
            await self.db.run(self.state.processes.forget, record.id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed")

    async def sweep(self) -> None:
        alive, gone = await self.db.run(self.presence.processes)
        await self._take_over(gone)
        if self.runs_jobs:
            await self._own_jobs()
        if not self.presence.is_leader(alive):
            return
        for job in await self.db.run(self.queue.cancelled_while_queued):
            await self.scheduler.cancel(job)
        for job in await self.db.run(self.queue.without_check_run):
            if await self._uninstalled(job.request.installation_id):
                continue  # GitHub refuses its calls: retrying every sweep would be a storm
            await self.scheduler.announce(job)
        for listed in await self.db.run(self.queue.unreported):
            # A verdict this process's worker is posting right now is left to it; read again,
            # as it may have been posted since the list was read (GitHub adds the annotations of
            # every update to the check run: a second post would show each twice).
            if listed.id in self.scheduler.running_here():
                continue
            current = await self.db.run(self.queue.get, listed.id)
            if current is None or current.reported:
                continue
            job = current
            if await self._uninstalled(job.request.installation_id):
                self.scheduler.installation_gone(job.request.installation_id)  # reporting ends
            await self.scheduler.deliver(job)
        await self.db.run(self.state.deliveries.forget_before, time.time() - DELIVERY_MEMORY)

    async def _own_jobs(self) -> None:
        """Jobs recorded as running here that no worker task of this process runs: lost.

        Only a job seen so in two sweeps in a row: a worker that has just claimed one is told
        by the database a moment before it adds the job to `running_here` (the calls are made
        off the event loop), and one sweep can fall in between."""
        now = time.time()
        mine = await self.db.run(self.queue.running_on, self.presence.id)
        running = self.scheduler.running_here()
        unattended = {job.id for job in mine if job.id not in running}
        for job in mine:
            if job.id in unattended and job.id in self._unattended:
                # Its worker task is gone without a word (it died after claiming).
                await self.scheduler.finish(
                    job,
                    CheckOutput(
                        "failure",
                        "Conveyor lost this run",
                        "The worker running these tests stopped without a verdict. "
                        "Re-run the check to try again.",
                    ),
                )
            elif job.started_at and now - job.started_at > self.job_timeout + 60:
                self.scheduler.stop(job.id)
        self._unattended = unattended

    async def _uninstalled(self, installation_id: int) -> bool:
        """Known to GitHub's webhooks as uninstalled or suspended (it survives a restart)."""
        known = await self.db.run(self.state.installations.get, installation_id)
        return known is not None and not known[1]


__all__ = ["QUEUED", "Sweeper"]
