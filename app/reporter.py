"""Keeps each job's check run on GitHub in step with the job.

Every call here may fail (GitHub down, network gone); failures are logged and left for the sweeper,
which tries again from what the queue recorded. Nothing here raises into the caller.

Some answers are final, though, and retrying them would only repeat them every sweep for ever:
- GitHub refused the body (400, 422): the same body gets the same answer. A refused verdict is
  replaced by a short one GitHub cannot refuse (the conclusion and a link to the run page); a
  refused create ends the job, which has nowhere to report.
- The repository, the check run or the access to them is gone (404, 410): reporting ends.
401 (the client renews the token once), 403 and 429 (rate limits, a permission the operator may
grant), 5xx, timeouts and network errors are still tried again.
"""

from __future__ import annotations

import logging
import time

from gidgethub import BadRequest, GitHubException

from app.github import checks
from app.github.client import GitHubClient
from app.queue import Job, JobQueue, QueueWriteError
from app.report.model import CheckOutput, Conclusion

log = logging.getLogger(__name__)

# An announce this old died with its process (the client gives up on a call well before).
ANNOUNCE_STALE = 300.0

_FAILURES: tuple[type[BaseException], ...] = (GitHubException, OSError, TimeoutError, ValueError)
REFUSED = frozenset({400, 422})
GONE = frozenset({404, 410})


class Reporter:
    def __init__(self, gh: GitHubClient, queue: JobQueue, public_url: str) -> None:
        self.gh = gh
        self.queue = queue
        self.public_url = public_url
        # Installations uninstalled (or suspended) while this process ran: GitHub refuses every
        # call for them, so their check runs are left as they are instead of retried forever.
        self.gone: set[int] = set()
        # Check runs GitHub answered 404/410 for while this process ran: deleted with their
        # repository, or no longer the app's to update.
        self.lost_runs: set[int] = set()

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
            if _final(error):
                self._unannounced(job, error)
            else:
                log.warning("job %s: could not create its check run: %s", job.id, _say(error))
            return False
        finally:
            self.queue.end_announce(job.id, check_run_id)
        return True

    def _unannounced(self, job: Job, error: BaseException) -> None:
        """GitHub will never create this run (the commit or repository is gone, or it refuses
        the name): the job ends here, unrun, since its verdict could go nowhere."""
        why = (
            "the repository or its commit is gone"
            if _status(error) in GONE
            else "GitHub refused to create it"
        )
        log.warning(
            "job %s: %s %s %r not run: %s (%s); not retried",
            job.id,
            job.repo_full_name,
            job.head_sha[:10],
            job.check_name,
            why,
            _say(error),
        )
        output = CheckOutput(
            "skipped",
            "Not run: no check run on GitHub",
            f"Its check run could not be created: {why}.",
        )
        try:
            self.queue.finish(job.id, output.to_json())
            self.queue.mark_reported(job.id)
        except QueueWriteError as error2:
            log.warning("job %s: could not record that it ends: %s", job.id, error2)

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
            self._update_failed(job, "mark it in progress", error)

    async def renamed(self, job: Job) -> None:
        try:
            await checks.rename(self.gh, self._ref(job), job.check_name)
        except _FAILURES as error:
            self._update_failed(job, "rename its check run", error)

    async def requeued(self, job: Job, why: str) -> None:
        try:
            await checks.mark_queued(self.gh, self._ref(job), title="Queued again", summary=why)
        except _FAILURES as error:
            self._update_failed(job, "mark it queued again", error)

    def _update_failed(self, job: Job, what: str, error: BaseException) -> None:
        """These updates are not retried: the verdict, which is, replaces them. A check run
        that is gone is remembered, so that its verdict is not sent to it either."""
        if _status(error) in GONE:
            assert job.check_run_id is not None
            self.lost_runs.add(job.check_run_id)
            log.warning(
                "job %s: could not %s: its check run is gone (%s); nothing more is sent to it",
                job.id,
                what,
                _say(error),
            )
        elif _status(error) in REFUSED:
            log.warning("job %s: could not %s: GitHub refused it: %s", job.id, what, _say(error))
        else:
            log.warning("job %s: could not %s: %s", job.id, what, _say(error))

    async def deliver(self, job: Job) -> bool:
        """Post a finished job's verdict; True once GitHub has it.

        False when it should be tried again (GitHub down), and when it never will be (the
        check run is gone, the installation too): the job is then marked reported."""
        if job.output is None or job.check_run_id is None:
            return False
        if job.installation_id in self.gone:
            self._reported(job)  # nobody is left on GitHub to tell
            log.info(
                "job %s: verdict not posted: installation %s is uninstalled",
                job.id,
                job.installation_id,
            )
            return False
        if job.check_run_id in self.lost_runs:
            self._reported(job)
            log.info("job %s: verdict not posted: its check run is gone", job.id)
            return False
        output = CheckOutput.from_json(job.output)
        completed_at = job.finished_at or time.time()
        try:
            await checks.complete(self.gh, self._ref(job), output, completed_at=completed_at)
        except _FAILURES as error:
            if _status(error) in GONE:
                self._reported(job)
                log.warning(
                    "job %s: verdict not posted: its check run or repository is gone (%s); "
                    "not retried",
                    job.id,
                    _say(error),
                )
                return False
            if _status(error) in REFUSED:
                return await self._deliver_short(job, output.conclusion, completed_at, error)
            log.warning("job %s: could not post its verdict: %s", job.id, _say(error))
            return False
        self._reported(job)
        log.info(
            "job %s: %s %s → %s", job.id, job.repo_full_name, job.head_sha[:10], output.conclusion
        )
        return True

    async def _deliver_short(
        self, job: Job, conclusion: Conclusion, completed_at: float, refusal: BaseException
    ) -> bool:
        """GitHub refused the verdict: the same body would be refused again, so a short one
        takes its place (the same conclusion, so that a required check still says the truth,
        and the way to the report), once. Whatever happens to it, reporting ends here."""
        url = self.details_url(job)
        try:
            await checks.conclude(
                self.gh,
                self._ref(job),
                conclusion,
                title=f"{conclusion.replace('_', ' ').capitalize()}: see the report on Conveyor",
                summary=f"GitHub did not accept this run's report. Read it on Conveyor: {url}",
                completed_at=completed_at,
            )
        except _FAILURES as error:
            posted, result = False, f"the short verdict failed too ({_say(error)})"
        else:
            posted, result = True, f"posted a short verdict pointing to {url} instead"
        self._reported(job)
        log.warning(
            "job %s: GitHub refused its verdict (%s); %s; not retried",
            job.id,
            _say(refusal),
            result,
        )
        return posted

    def _reported(self, job: Job) -> None:
        try:
            self.queue.mark_reported(job.id)
        except QueueWriteError as error:
            # GitHub has it (or never will); the sweeper may try once more when the disk has
            # room again.
            log.warning("job %s: reporting ended, but not recorded: %s", job.id, error)


def _status(error: BaseException) -> int | None:
    """The HTTP status of a 4xx answer (gidgethub raises BadRequest for those), else None."""
    return int(error.status_code) if isinstance(error, BadRequest) else None


def _final(error: BaseException) -> bool:
    return _status(error) in REFUSED | GONE


def _say(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
