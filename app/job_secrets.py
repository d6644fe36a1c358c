"""A job's secrets: whether its code is trusted with them, which of them its check is given,
and every one of them masked in what the run reports.

The worker asks `Trust.decide` once a commit is fetched and planned (and has the scheduler
record the answer, for the job's re-runs), gives the check what
`secrets_for` returns, and masks the verdict with `masked` before it is recorded: failure
messages and annotations come from the tests, which may print a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.state.database import Database
from app.state.jobs import Job, JobQueue
from app.suite.checkout import Deadline, Mirrors
from app.suite.plan import CheckSpec
from app.suite.runlog import Masker, RunLog


@dataclass(frozen=True)
class Trust:
    """Decides whether a job's code is trusted (from the commit, or the run it re-runs)."""

    mirrors: Mirrors
    db: Database  # its calls are made off the event loop (`run`)
    queue: JobQueue

    async def decide(self, job: Job, token: str, run_log: RunLog, deadline: Deadline) -> bool:
        """May this run have the repository's secrets and leave what it installs to later runs?

        Decided from facts, never from a field's absence: the commit must be on a branch of
        the repository (only people with write access put it there), or this must be a re-run
        of a job found trusted. A pull request from a fork is untrusted whatever else holds;
        GitHub's re-run events for a fork's commit name no branch and no pull request, so the
        request alone never makes a job trusted. The worker has it recorded, so that re-runs
        can rely on it.
        """
        why: str
        if job.request.from_fork:
            trusted, why = False, "a pull request from a fork"
        else:
            branch = await self.mirrors.branch_holding(
                key=str(job.request.repo_id),
                clone_url=job.request.clone_url,
                token=token,
                sha=job.request.head_sha,
                deadline=deadline,
            )
            if branch is not None:
                trusted, why = True, f"the commit is on the branch `{branch}`"
            elif await self._reruns_trusted(job):
                trusted, why = True, "a re-run of a trusted run"
            else:
                trusted, why = False, f"the commit is on no branch of {job.request.repo_full_name}"
        if trusted:
            run_log.line(f"Trusted: {why}")
        else:
            run_log.line(
                f"Untrusted ({why}): no secrets, no package-index credentials, and nothing "
                "it installs is kept for later runs"
            )
        return trusted

    async def _reruns_trusted(self, job: Job) -> bool:
        previous = (
            await self.db.run(self.queue.get, job.rerun_of) if job.rerun_of is not None else None
        )
        return previous is not None and bool(previous.trusted)


def secrets_for(
    spec: CheckSpec, values: dict[str, str], run_log: RunLog, *, trusted: bool
) -> dict[str, str]:
    """The values of the check's secrets; none for code the repository's people did not
    write (a fork's pull request, however its run was started)."""
    if not spec.secrets:
        return {}
    if not trusted:
        run_log.line(f"Secrets not given to untrusted code: {', '.join(spec.secrets)}")
        return {}
    missing = [name for name in spec.secrets if name not in values]
    if missing:
        run_log.line(f"Secrets this Conveyor has no value for: {', '.join(missing)}")
    return {name: values[name] for name in spec.secrets if name in values}


def masked(value: Any, masker: Masker) -> Any:
    """Every string inside a JSON value, masked."""
    if isinstance(value, str):
        return masker(value.encode()).decode(errors="replace")
    if isinstance(value, (list, tuple)):
        return [masked(item, masker) for item in value]
    if isinstance(value, dict):
        return {key: masked(item, masker) for key, item in value.items()}
    return value
