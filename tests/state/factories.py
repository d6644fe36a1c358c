"""Requests and jobs as the state's tests make them."""

from __future__ import annotations

from typing import Any

from app.report.model import CheckOutput, Conclusion
from app.run_request import RunRequest
from app.state.jobs import Job, JobQueue

CHECK = "tests"
SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40
LANE = "186853002:branch:main"


def request(sha: str = SHA_A, **fields: Any) -> RunRequest:
    values: dict[str, Any] = {
        "repo_full_name": "octo/hello",
        "repo_id": 186853002,
        "installation_id": 31,
        "clone_url": "https://github.com/octo/hello.git",
        "head_sha": sha,
        "fetch_ref": "refs/heads/main",
        "lane": LANE,
        "reason": "push",
        "head_branch": "main",
    }
    values.update(fields)
    return RunRequest(**values)


def new_job(queue: JobQueue, req: RunRequest, check: str = CHECK) -> Job:
    job = queue.enqueue(req, check).job
    assert job is not None
    return job


def finish(queue: JobQueue, job: Job, conclusion: Conclusion = "success") -> Job:
    return queue.finish(job.id, CheckOutput(conclusion, "t", "s"))
