"""The buttons GitHub shows on checks: "Re-run all checks", "Re-run" on one run, "Re-run failed
checks", and a run's own action buttons, each with the webhooks its click sends."""

from __future__ import annotations

from app.localgithub.models import Repository, WebhookDelivery
from app.localgithub.records import COMPLETED, RunRecord
from app.localgithub.steps_common import Steps, as_pending, settle


class CheckButtons(Steps):
    """The re-run and action buttons of the checks page."""

    async def rerequest_check_suite(
        self,
        repo: Repository,
        head_sha: str,
        *,
        force: bool = False,
        sender: str | None = None,
    ) -> list[WebhookDelivery]:
        """ "Re-run all checks" on the commit: check_suite rerequested to each app with a suite
        there. Refused while one of the suite's runs is still queued or in progress."""
        record = self._repo(repo)
        suites = [
            suite
            for suite in self._world.suites.values()
            if suite.repo_id == record.id and suite.head_sha == head_sha
        ]
        if not suites:
            raise ValueError(f"no check suite for {head_sha} in {repo.full_name}")
        for suite in suites:
            runs = self._world.runs_of_suite(suite.id)
            if not force and any(run.status != COMPLETED for run in runs):
                raise ValueError(
                    f"check suite {suite.id} is still running; GitHub offers no re-run"
                )
        actor = self._person(sender, record.owner)
        pending = []
        for suite in suites:
            suite.reset = True
            suite.announced_completed = False
            pending += as_pending(await self._hub.events.check_suite("rerequested", suite, actor))
        return await settle(pending)

    async def rerequest_check_run(
        self, check_run_id: int, *, force: bool = False, sender: str | None = None
    ) -> list[WebhookDelivery]:
        """The "Re-run" button on one run. GitHub shows it on completed runs that did not
        succeed; `force` also allows a successful one."""
        run = self._world.runs.get(check_run_id)
        if run is None:
            raise ValueError(f"no check run {check_run_id}")
        if run.status != COMPLETED:
            raise ValueError(
                f"check run {check_run_id} is {run.status}; only finished runs can be re-run"
            )
        if run.conclusion == "success" and not force:
            raise ValueError(f"check run {check_run_id} succeeded; pass force=True to re-run it")
        suite = self._world.suites[run.suite_id]
        suite.reset = True
        suite.announced_completed = False
        actor = self._person(sender, self._world.repos[run.repo_id].owner)
        return await settle(await self._hub.events.check_run("rerequested", run, actor))

    async def rerequest_failed_checks(
        self, repo: Repository, head_sha: str, *, sender: str | None = None
    ) -> list[WebhookDelivery]:
        """ "Re-run failed checks": one check_run rerequested per run of the commit whose
        (latest) verdict is not a success, neutral or skipped one."""
        record = self._repo(repo)
        newest: dict[tuple[int, str], RunRecord] = {}
        for run in self._world.runs.values():
            if run.repo_id == record.id and run.head_sha == head_sha:
                key = (run.app_id, run.name)
                if key not in newest or run.id > newest[key].id:
                    newest[key] = run
        failed = [
            run
            for run in sorted(newest.values(), key=lambda run: run.id)
            if run.status == COMPLETED and run.conclusion not in ("success", "neutral", "skipped")
        ]
        if not failed:
            raise ValueError(f"no failed check runs for {head_sha} in {repo.full_name}")
        actor = self._person(sender, record.owner)
        pending = []
        for run in failed:
            suite = self._world.suites[run.suite_id]
            suite.reset = True
            suite.announced_completed = False
            pending += await self._hub.events.check_run("rerequested", run, actor)
        return await settle(pending)

    async def request_action(
        self, check_run_id: int, identifier: str, *, sender: str | None = None
    ) -> list[WebhookDelivery]:
        """A click on one of the run's `actions` buttons."""
        run = self._world.runs.get(check_run_id)
        if run is None:
            raise ValueError(f"no check run {check_run_id}")
        if run.status != COMPLETED:
            raise ValueError("action buttons appear only once the run has completed")
        if not any(action.identifier == identifier for action in run.actions):
            raise ValueError(f"check run {check_run_id} has no action {identifier!r}")
        actor = self._person(sender, self._world.repos[run.repo_id].owner)
        return await settle(
            await self._hub.events.check_run(
                "requested_action", run, actor, requested_action=identifier
            )
        )
