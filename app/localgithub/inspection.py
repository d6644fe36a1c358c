"""What a test looks at afterwards: every call made (and those refused), every webhook delivery,
every token issued, and snapshots of check runs, pull requests and apps."""

from __future__ import annotations

import re

from app.localgithub.models import (
    CallRecord,
    CheckRun,
    GitHubApp,
    IssuedToken,
    PullRequest,
    Repository,
    WebhookDelivery,
)
from app.localgithub.steps_common import Steps


class Inspection(Steps):
    """What happened: calls, deliveries, tokens, and snapshots of the state."""

    @property
    def calls(self) -> list[CallRecord]:
        return self._hub.calls

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        return self._hub.sender.deliveries

    @property
    def tokens_issued(self) -> list[IssuedToken]:
        return self._hub.tokens_issued

    def refused(self) -> list[CallRecord]:
        """Every call answered with a status >= 400, except git's credential-less first probe
        when the client's next git request to that repository brought credentials: that 401
        is HTTP auth negotiation (git always asks anonymously first), not a refusal; nor is
        the 404 of a user's permission in a repository, which is how GitHub says "no
        collaborator"."""
        calls = self._hub.calls
        refused = []
        for index, call in enumerate(calls):
            if call.status < 400:
                continue
            if call.status == 404 and _PERMISSION_PATH.fullmatch(call.path):
                continue
            if call.kind == "git" and call.status == 401 and call.auth == "none":
                follow_up = next(
                    (
                        later
                        for later in calls[index + 1 :]
                        if later.kind == "git" and _git_repo(later.path) == _git_repo(call.path)
                    ),
                    None,
                )
                if follow_up is not None and follow_up.auth != "none":
                    continue
            refused.append(call)
        return refused

    def check_runs(
        self, repo: Repository | None = None, head_sha: str | None = None
    ) -> list[CheckRun]:
        return [
            self._world.check_run(run)
            for run in sorted(self._world.runs.values(), key=lambda run: run.id)
            if (repo is None or run.repo_id == repo.id)
            and (head_sha is None or run.head_sha == head_sha)
        ]

    def check_run(self, check_run_id: int) -> CheckRun:
        run = self._world.runs.get(check_run_id)
        if run is None:
            raise KeyError(f"no check run {check_run_id}")
        return self._world.check_run(run)

    def pull_request(self, repo: Repository, number: int) -> PullRequest:
        pr = self._world.find_pull(repo.id, number)
        if pr is None:
            raise KeyError(f"no pull request #{number} in {repo.full_name}")
        return self._world.pull_request(pr)

    def app(self, app_id: int) -> GitHubApp:
        return self._world.apps[app_id].app


_PERMISSION_PATH = re.compile(r"/repos/[^/]+/[^/]+/collaborators/[^/]+/permission")


def _git_repo(path: str) -> str:
    """`/owner/name` of a git smart-HTTP path, with or without `.git`."""
    owner, _, rest = path.lstrip("/").partition("/")
    name = rest.partition("/")[0]
    return f"/{owner}/{name.removesuffix('.git')}".lower()
