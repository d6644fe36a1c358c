"""From a stored webhook delivery to queued jobs with their check runs.

The web handler stores the delivery and answers at once; this module does the rest in the
background: drop it if its installation is on an account not in ALLOWED_OWNERS (owners.py),
route the event, and hand each check of each commit to the scheduler (app/scheduler.py),
which adds its job once, whichever events announce it, supersedes older commits of the same
branch or pull request, and creates the `queued` check run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from gidgethub import GitHubException, sansio

from app.github.client import GitHubClient
from app.github.comments import REFUSED, UNSURE, react
from app.github.events import (
    CommentCommand,
    InstallationChange,
    pull_request_run,
    router,
)
from app.github.permissions import may_write
from app.github.pulls import get_pull_request
from app.owners import OwnerGate
from app.report.model import RERUN_ALL, RERUN_FAILED
from app.run_request import RunRequest
from app.scheduler import Scheduler
from app.state import State
from app.state.deliveries import Delivery
from app.state.jobs import DEFAULT_CHECKS, Job, JobQueue
from app.suite.plan import check_names, plan_from_json

log = logging.getLogger(__name__)

# Who may start runs with a comment: people the repository trusts with its code (others could
# burn the machine's time at will). These associations say so; for any other GitHub's
# permission API is asked (write or above).
TRUSTED = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
UNINSTALLED = "The app was uninstalled from this account, so Conveyor stopped this run."


class Intake:
    def __init__(
        self,
        *,
        app_id: str,
        state: State,
        scheduler: Scheduler,
        gh: GitHubClient,
        allowed_owners: frozenset[str] | None = None,
    ) -> None:
        self.app_id = app_id
        self.deliveries = state.deliveries
        self.installations = state.installations
        self.history = state.history
        self.queue: JobQueue = state.jobs  # read here; the scheduler writes
        self.db = state.db  # its calls are made off the event loop (`run`)
        self.scheduler = scheduler
        self.gh = gh
        self.owners = OwnerGate(allowed_owners, state.installations, gh, self._stop_jobs)

    async def process(self, delivery: Delivery) -> None:
        """Act on one stored delivery; it is marked processed whatever happens."""
        error: str | None = None
        try:
            event = sansio.Event(
                json.loads(delivery.body), event=delivery.event, delivery_id=delivery.delivery_id
            )
            refused = await self.owners.refusal(event)
            if refused is None:
                await router.dispatch(event, self)
            else:
                log.info("delivery %s (%s): refused: %s", event.delivery_id, event.event, refused)
                error = f"refused: {refused}"
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # A signed delivery whose payload lacks what its event always carries: not GitHub's
            # doing. One line, not a traceback anyone holding the secret could fill logs with.
            log.warning(
                "delivery %s (%s): malformed payload, ignored (%s: %s)",
                delivery.delivery_id,
                delivery.event,
                type(exc).__name__,
                exc,
            )
            error = f"malformed payload: {type(exc).__name__}: {exc}"
        except Exception as exc:
            log.exception("delivery %s (%s) failed", delivery.delivery_id, delivery.event)
            error = f"{type(exc).__name__}: {exc}"
        await self.db.run(self.deliveries.processed, delivery.delivery_id, error)

    # -- the Sink of app.github.events ---------------------------------------------------------

    async def run_requested(self, request: RunRequest) -> None:
        if request.requested_action not in (None, RERUN_FAILED.identifier, RERUN_ALL.identifier):
            log.info("unknown requested action %r ignored", request.requested_action)
            return
        previous = await self._rerun_target(request)
        if previous is not None:
            # One of our check runs, re-run: the same check, fetched where the first run was.
            only: tuple[str, ...] = ()
            if request.requested_action == RERUN_FAILED.identifier:
                only = await self.db.run(self.history.failing_tests, previous.id)
            request = replace(
                previous.request,
                reason=request.reason,
                installation_id=request.installation_id,
                rerun=True,
                rerun_external_id=request.rerun_external_id,
                requested_action=request.requested_action,
                only_tests=only,
            )
            names: tuple[str, ...] = (previous.check_name,)
        else:
            names = await self.checks_for(request.repo_id, request.head_sha)
        for name in names:
            await self.enqueue(request, name, rerun_of=previous.id if previous else None)

    async def enqueue(self, request: RunRequest, name: str, *, rerun_of: int | None = None) -> None:
        """One job for one check of the commit, its check run `queued` at once."""
        await self.scheduler.add(request, name, rerun_of=rerun_of)

    async def checks_for(self, repo_id: int, head_sha: str) -> tuple[str, ...]:
        """The commit's checks if its plan is known, else those of the repository's last plan."""
        stored = await self.db.run(self.queue.stored_plan, repo_id, head_sha)
        if stored is not None and stored.plan is not None:
            return check_names(plan_from_json(stored.plan), DEFAULT_CHECKS)
        if stored is not None:
            return DEFAULT_CHECKS  # a config error is reported under the default check
        return await self.db.run(self.queue.expected_checks, repo_id)

    async def _rerun_target(self, request: RunRequest) -> Job | None:
        if not (request.rerun_external_id and request.rerun_external_id.isdigit()):
            return None
        previous = await self.db.run(self.queue.get, int(request.rerun_external_id))
        return (
            previous
            if previous is not None and previous.request.repo_id == request.repo_id
            else None
        )

    async def comment_command(self, command: CommentCommand) -> None:
        """`/conveyor run [failed]` on a pull request, from someone who may write to the
        repository; any other is answered with a reaction, not ignored in silence."""
        allowed = await self._may_command(command)
        if allowed is not True:
            await self._answer(command, REFUSED if allowed is False else UNSURE)
            return
        try:
            pull = await get_pull_request(
                self.gh,
                command.repo_full_name,
                command.installation_id,
                command.pull_number,
            )
        except (GitHubException, OSError, TimeoutError) as error:
            log.warning(
                "%s#%s: cannot read the pull request: %s",
                command.repo_full_name,
                command.pull_number,
                error,
            )
            await self._answer(command, UNSURE)
            return
        if pull.get("state") != "open":
            await self._answer(command, UNSURE)  # a closed pull request's checks stay as they are
            return
        request = replace(pull_request_run(pull, command.installation_id, "comment"), rerun=True)
        for name in await self.checks_for(request.repo_id, request.head_sha):
            last = await self.db.run(self.queue.last_job, request.repo_id, request.head_sha, name)
            only: tuple[str, ...] = ()
            if command.failed_only:
                only = await self.db.run(self.history.failing_tests, last.id) if last else ()
                if last is not None and last.conclusion == "success":
                    continue  # nothing failed: nothing to run again
            await self.enqueue(
                replace(request, only_tests=only), name, rerun_of=last.id if last else None
            )

    async def _may_command(self, command: CommentCommand) -> bool | None:
        """Whether the author may start runs: what the comment says of them, else GitHub's
        permission API (a private member of the organisation shows as CONTRIBUTOR). None:
        GitHub could not say."""
        if command.author_association in TRUSTED:
            return True
        if not command.author:
            return False  # `comment.user` is nullable (a deleted account): no one to ask about
        try:
            allowed = await may_write(
                self.gh,
                command.repo_full_name,
                command.installation_id,
                command.author,
            )
        except (GitHubException, OSError, TimeoutError) as error:
            log.warning(
                "%s#%s: cannot tell whether %s may write (%s: %s); the command is not acted on",
                command.repo_full_name,
                command.pull_number,
                command.author,
                type(error).__name__,
                error,
            )
            return None
        if not allowed:
            log.info(
                "%s#%s: %s (%s) may not write to the repository, so may not run checks by comment",
                command.repo_full_name,
                command.pull_number,
                command.author,
                command.author_association,
            )
        return allowed

    async def _answer(self, command: CommentCommand, content: str) -> None:
        """A reaction on the comment saying it was not acted on; logged if GitHub refuses."""
        try:
            reacted = await react(
                self.gh,
                command.repo_full_name,
                command.installation_id,
                command.comment_id,
                content,
            )
        except (GitHubException, OSError, TimeoutError) as error:
            reacted, why = False, f"{type(error).__name__}: {error}"
        else:
            why = "the app lacks Pull requests: write"
        if not reacted:
            log.warning(
                "%s#%s: could not answer %s's command with a reaction (%s)",
                command.repo_full_name,
                command.pull_number,
                command.author,
                why,
            )

    async def installation_changed(self, change: InstallationChange) -> None:
        active = change.action not in ("installation.deleted", "installation.suspend")
        await self.db.run(
            self.installations.record,
            change.installation_id,
            change.account,
            active=active,
            added=change.repositories_added,
            removed=change.repositories_removed,
        )
        if active:
            self.scheduler.installation_back(change.installation_id)
        else:
            await self._installation_gone(change)

    async def _installation_gone(self, change: InstallationChange) -> None:
        """Stop the installation's jobs: their tokens no longer work, nor would their reports."""
        ended = await self._stop_jobs(change.installation_id, UNINSTALLED)
        log.info(
            "installation %s was uninstalled (%s, account %s): %d job(s) stopped; their check "
            "runs are left as they are, since GitHub no longer takes the app's updates",
            change.installation_id,
            change.action,
            change.account or "?",
            ended,
        )

    async def _stop_jobs(self, iid: int, why: str) -> int:
        """Cancel the installation's queued and running jobs; their check runs are left as
        they are (GitHub takes nothing more from the app there). How many there were."""
        return await self.scheduler.stop_installation(iid, why)
