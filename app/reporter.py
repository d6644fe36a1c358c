"""Keeps each job's check run on GitHub in step with the job.

Every call here may fail (GitHub down, network gone); failures are logged and left for the sweeper,
which tries again from what the queue recorded. Nothing here raises into the caller.
"""

from __future__ import annotations

import logging
import time

from gidgethub import GitHubException

from app.github import checks
from app.github.client import GitHubClient
from app.queue import Job, JobQueue, QueueWriteError
from app.report.model import CheckOutput

log = logging.getLogger(__name__)

# An announce this old died with its process (the client gives up on a call well before).
ANNOUNCE_STALE = 300.0

_FAILURES: tuple[type[BaseException], ...] = (GitHubException, OSError, TimeoutError, ValueError)


class Reporter:
    def __init__(self, gh: GitHubClient, queue: JobQueue, public_url: str) -> None:
        self.gh = gh
        self.queue = queue
        self.public_url = public_url
        # Installations uninstalled (or suspended) while this process ran: GitHub refuses every
        # call for them, so their check runs are left as they are instead of retried forever.
        self.gone: set[int] = set()

    def details_url(self, job: Job) -> str:
        return f"{self.public_url}/runs/{job.public_id}"

    def _ref(self, job: Job) -> checks.CheckRunRef:
        assert job.check_run_id is not None
        return checks.CheckRunRef(job.repo_full_name, job.installation_id, job.check_run_id)

    async def announce(self, job: Job) -> bool:
        """Create the job's check run, `queued`: the check appears on the commit at once."""
        # Under load the POST can take longer than a sweep, and another process may sweep too:
        # a second announce meanwhile would create a duplicate run, left queued for ever.
        if not self.queue.begin_announce(job.id, stale_after=ANNOUNCE_STALE):
            return False  # the first announce wakes the workers when it is done
        check_run_id = None
        try:
            ref = await checks.create_queued(
                self.gh,
                job.repo_full_name,
                job.installation_id,
                name=job.check_name,
                head_sha=job.head_sha,
                details_url=self.details_url(job),
                external_id=job.external_id,
            )
            check_run_id = ref.check_run_id
        except _FAILURES as error:
            log.warning("job %s: could not create its check run: %s", job.id, _say(error))
            return False
        finally:
            self.queue.end_announce(job.id, check_run_id)
        return True

    async def started(self, job: Job) -> None:
        if job.installation_id in self.gone:
            return
        try:
            await checks.mark_in_progress(
                self.gh,
                self._ref(job),
                started_at=job.started_at or time.time(),
                title="Running the tests",
                summary=f"Started for `{job.head_sha[:10]}` ({job.reason}).",
            )
        except _FAILURES as error:
            log.warning("job %s: could not mark it in progress: %s", job.id, _say(error))

    async def renamed(self, job: Job) -> None:
        try:
            await checks.rename(self.gh, self._ref(job), job.check_name)
        except _FAILURES as error:
            log.warning("job %s: could not rename its check run: %s", job.id, _say(error))

    async def requeued(self, job: Job, why: str) -> None:
        try:
            await checks.mark_queued(self.gh, self._ref(job), title="Queued again", summary=why)
        except _FAILURES as error:
            log.warning("job %s: could not mark it queued again: %s", job.id, _say(error))

    async def deliver(self, job: Job) -> bool:
        """Post a finished job's verdict; True once GitHub has it."""
        if job.output is None or job.check_run_id is None:
            return False
        if job.installation_id in self.gone:
            self.queue.mark_reported(job.id)  # nobody is left on GitHub to tell
            log.info(
                "job %s: verdict not posted: installation %s is uninstalled",
                job.id,
                job.installation_id,
            )
            return False
        output = CheckOutput.from_json(job.output)
        try:
            await checks.complete(
                self.gh, self._ref(job), output, completed_at=job.finished_at or time.time()
            )
        except _FAILURES as error:
            log.warning("job %s: could not post its verdict: %s", job.id, _say(error))
            return False
        try:
            self.queue.mark_reported(job.id)
        except QueueWriteError as error:
            # GitHub has it; the sweeper may post it once more when the disk has room again.
            log.warning("job %s: posted, but not recorded as posted: %s", job.id, error)
        log.info(
            "job %s: %s %s → %s", job.id, job.repo_full_name, job.head_sha[:10], output.conclusion
        )
        return True


def _say(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
