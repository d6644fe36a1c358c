"""Check suites and check runs as GitHub's JSON shows them, with the pull requests they list
(open ones from the same repository only)."""

from __future__ import annotations

from app.localgithub.json_base import JsonObject, node_id
from app.localgithub.json_issues import IssueJson
from app.localgithub.records import RunRecord, SuiteRecord
from app.localgithub.timeutil import iso


class CheckJson(IssueJson):
    """Check suites and runs, over pull requests, repositories and accounts."""

    def check_suite(self, suite: SuiteRecord) -> JsonObject:
        repo = self.world.repos[suite.repo_id]
        status, conclusion = self.world.suite_status(suite)
        runs = self.world.runs_of_suite(suite.id)
        latest_names = {run.name for run in runs}
        info = self.world.commits.get((suite.repo_id, suite.head_sha))
        api = f"{self.base}/repos/{repo.full_name}/check-suites/{suite.id}"
        return {
            "id": suite.id,
            "node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": status,
            "conclusion": conclusion,
            "url": api,
            "before": suite.before,
            "after": suite.after,
            "pull_requests": self.pull_refs(suite.repo_id, suite.head_sha),
            "app": self.app(self.world.apps[suite.app_id]),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
            "rerequestable": True,
            "runs_rerequestable": True,
            "latest_check_runs_count": len(latest_names),
            "check_runs_url": f"{api}/check-runs",
            "head_commit": self.commit_short(info) if info else None,
        }

    def pull_refs(self, repo_id: int, sha: str) -> list[JsonObject]:
        return [self.pull_ref(pr) for pr in self.world.open_same_repo_pulls_at(repo_id, sha)]

    def check_run(self, run: RunRecord, *, full_suite: bool) -> JsonObject:
        repo = self.world.repos[run.repo_id]
        api = f"{self.base}/repos/{repo.full_name}/check-runs/{run.id}"
        suite = self.world.suites[run.suite_id]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id,
            "url": api,
            "html_url": f"{self.base}/{repo.full_name}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.output_title,
                "summary": run.output_summary,
                "text": run.output_text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{api}/annotations",
            },
            "check_suite": self.check_suite(suite) if full_suite else {"id": suite.id},
            "app": self.app(self.world.apps[run.app_id]),
            "pull_requests": self.pull_refs(run.repo_id, run.head_sha),
        }
