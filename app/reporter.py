"""Keeps each job's check run on GitHub in step with the job: it only talks to GitHub.

Every call here may fail (GitHub down, network gone); failures are logged and left for the sweeper,
which tries again from what the queue recorded. Nothing here raises into the caller, and nothing
here writes a job's state: the scheduler (app/scheduler.py) records what these calls return.

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
from dataclasses import dataclass
from typing import Literal

from gidgethub import BadRequest, GitHubException

from app.github import checks
from app.github.client import GitHubClient
from app.report.model import Conclusion
from app.state.jobs import Job

log = logging.getLogger(__name__)

# An announce this old died with its process (the client gives up on a call well before).
ANNOUNCE_STALE = 300.0

_FAILURES: tuple[type[BaseException], ...] = (GitHubException, OSError, TimeoutError, ValueError)
REFUSED = frozenset({400, 422})
GONE = frozenset({404, 410})

# What became of a verdict: GitHub has it, try again later, or reporting ends (GitHub never will).
Delivered = Literal["posted", "retry", "ended"]


@dataclass(frozen=True)
class Announced:
    check_run_id: int | None  # the check run GitHub created, if it did
    never: str | None = None  # why GitHub will never create it (not retried), if so


class Reporter:
    def __init__(self, gh: GitHubClient, public_url: str) -> None:
        self.gh = gh
        self.public_url = public_url
        # Installations uninstalled (or suspended): GitHub refuses every call for them, so their
        # check runs are left as they are instead of retried forever (the scheduler keeps it).
        self.uninstalled: set[int] = set()
        # Check runs GitHub answered 404/410 for while this process ran: deleted with their
        # repository, or no longer the app's to update.
        self.lost_runs: set[int] = set()

    def details_url(self, job: Job) -> str:
        return f"{self.public_url}/runs/{job.public_id}"

    def _ref(self, job: Job) -> checks.CheckRunRef:
        assert job.check_run_id is not None
        return checks.CheckRunRef(
            job.request.repo_full_name, job.request.installation_id, job.check_run_id
        )

    async def announce(self, job: Job) -> Announced:
        """Create the job's check run, `queued`: the check appears on the commit at once."""
        try:
            ref = await checks.create_queued(
                self.gh,
                job.request.repo_full_name,
                job.request.installation_id,
                name=job.check_name,
                head_sha=job.request.head_sha,
                details_url=self.details_url(job),
                external_id=job.external_id,
            )
        except _FAILURES as error:
            if not _final(error):
                log.warning("job %s: could not create its check run: %s", job.id, _say(error))
                return Announced(None)
            why = (
                "the repository or its commit is gone"
                if _status(error) in GONE
                else "GitHub refused to create it"
            )
            log.warning(
                "job %s: %s %s %r not run: %s (%s); not retried",
                job.id,
                job.request.repo_full_name,
                job.request.head_sha[:10],
                job.check_name,
                why,
                _say(error),
            )
            return Announced(None, never=why)
        return Announced(ref.check_run_id)

    async def started(self, job: Job) -> None:
        if job.request.installation_id in self.uninstalled:
            return
        try:
            await checks.mark_in_progress(
                self.gh,
                self._ref(job),
                started_at=job.started_at or time.time(),
                title="Running the tests",
                summary=f"Started for `{job.request.head_sha[:10]}` ({job.request.reason}).",
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

    async def deliver(self, job: Job) -> Delivered:
        """Post a finished job's verdict: "posted" once GitHub has it, "retry" when it should be
        tried again (GitHub down), "ended" when it never will be (the check run is gone, the
        installation too, GitHub refused even the short verdict)."""
        if job.output is None or job.check_run_id is None:
            return "retry"
        if job.request.installation_id in self.uninstalled:
            log.info(
                "job %s: verdict not posted: installation %s is uninstalled",
                job.id,
                job.request.installation_id,
            )
            return "ended"  # nobody is left on GitHub to tell
        if job.check_run_id in self.lost_runs:
            log.info("job %s: verdict not posted: its check run is gone", job.id)
            return "ended"
        output = job.output
        completed_at = job.finished_at or time.time()
        try:
            await checks.complete(self.gh, self._ref(job), output, completed_at=completed_at)
        except _FAILURES as error:
            if _status(error) in GONE:
                log.warning(
                    "job %s: verdict not posted: its check run or repository is gone (%s); "
                    "not retried",
                    job.id,
                    _say(error),
                )
                return "ended"
            if _status(error) in REFUSED:
                return await self._deliver_short(job, output.conclusion, completed_at, error)
            log.warning("job %s: could not post its verdict: %s", job.id, _say(error))
            return "retry"
        log.info(
            "job %s: %s %s → %s",
            job.id,
            job.request.repo_full_name,
            job.request.head_sha[:10],
            output.conclusion,
        )
        return "posted"

    async def _deliver_short(
        self, job: Job, conclusion: Conclusion, completed_at: float, refusal: BaseException
    ) -> Delivered:
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
            delivered: Delivered = "ended"
            result = f"the short verdict failed too ({_say(error)})"
        else:
            delivered, result = "posted", f"posted a short verdict pointing to {url} instead"
        log.warning(
            "job %s: GitHub refused its verdict (%s); %s; not retried",
            job.id,
            _say(refusal),
            result,
        )
        return delivered


def _status(error: BaseException) -> int | None:
    """The HTTP status of a 4xx answer (gidgethub raises BadRequest for those), else None."""
    return int(error.status_code) if isinstance(error, BadRequest) else None


def _final(error: BaseException) -> bool:
    return _status(error) in REFUSED | GONE


def _say(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
