"""What the run page's header and annotations say about a job, in plain values: links to the
commit, branch, pull request and failing lines on GitHub, the times and durations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from app.report.model import Annotation
from app.state.job_history import Related
from app.state.jobs import FINISHED, QUEUED, Job


@dataclass(frozen=True)
class Link:
    text: str
    url: str | None  # None: shown as text (no GitHub address known)


@dataclass(frozen=True)
class Moment:
    label: str
    at: float  # seconds since the epoch

    @property
    def iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))


@dataclass(frozen=True)
class AnnotationView:
    place: Link  # path:line, linked to the line at this commit
    level: str
    title: str | None
    message: str


@dataclass(frozen=True)
class RunView:
    repository: Link
    check: str
    state: str  # the conclusion once there is one, else queued or running
    title: str
    commit: Link
    commit_message: str | None  # its first line
    author: str | None
    branch: Link | None
    pull_request: Link | None
    reason: str
    moments: tuple[Moment, ...]
    waited: str | None  # in the queue
    took: str | None  # running, or ran
    live: bool
    attempts: str | None
    superseded_by: Link | None
    annotations: tuple[AnnotationView, ...]
    # Other runs of this check of this commit, and the run that replaced it, by their pages.
    rerun_of: Link | None = None
    reruns: tuple[Link, ...] = ()
    replaced_by: Link | None = None


def run_view(job: Job, now: float, related: Related | None = None) -> RunView:
    asked = job.request
    web = asked.html_url.rstrip("/") if asked.html_url else None
    sha = asked.head_sha
    output = job.output
    state = job.conclusion or job.state
    title = (
        output.title if output else ("Waiting for a worker" if job.state == QUEUED else "Running")
    )
    moments = [Moment("queued", job.created_at)]
    if job.started_at is not None:
        moments.append(Moment("started", job.started_at))
    if job.finished_at is not None:
        moments.append(Moment("finished", job.finished_at))
    waited = took = None
    if job.started_at is not None:
        waited = duration(job.started_at - job.created_at)
        took = duration((job.finished_at or now) - job.started_at)
    message = (asked.commit_message or "").strip().splitlines()
    return RunView(
        repository=Link(asked.repo_full_name, web),
        check=job.check_name,
        state=state,
        title=title,
        commit=Link(sha[:7], f"{web}/commit/{sha}" if web else None),
        commit_message=message[0] if message else None,
        author=asked.author,
        branch=(
            Link(asked.head_branch, f"{web}/tree/{quote(asked.head_branch)}" if web else None)
            if asked.head_branch
            else None
        ),
        pull_request=(
            Link(f"#{asked.pull_number}", f"{web}/pull/{asked.pull_number}" if web else None)
            if asked.pull_number
            else None
        ),
        reason=asked.reason,
        moments=tuple(moments),
        waited=waited,
        took=took,
        live=job.state != FINISHED,
        attempts=job.earlier_attempts,
        superseded_by=(
            Link(job.superseded_by[:7], f"{web}/commit/{job.superseded_by}" if web else None)
            if job.superseded_by
            else None
        ),
        annotations=tuple(_annotation(a, web, sha) for a in (output.annotations if output else ())),
        rerun_of=_page(related.rerun_of) if related and related.rerun_of else None,
        reruns=tuple(_page(r) for r in related.reruns) if related else (),
        replaced_by=_page(related.replaced_by) if related and related.replaced_by else None,
    )


def _page(job: Job) -> Link:
    """Another run, by its page: its commit and verdict."""
    return Link(
        f"{job.request.head_sha[:7]} {job.conclusion or job.state}", f"/runs/{job.public_id}"
    )


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _annotation(annotation: Annotation, web: str | None, sha: str) -> AnnotationView:
    place = f"{annotation.path}:{annotation.start_line}"
    url = None
    if web:
        lines = f"L{annotation.start_line}"
        if annotation.end_line != annotation.start_line:
            lines += f"-L{annotation.end_line}"
        url = f"{web}/blob/{sha}/{quote(annotation.path)}#{lines}"
    return AnnotationView(Link(place, url), annotation.level, annotation.title, annotation.message)
