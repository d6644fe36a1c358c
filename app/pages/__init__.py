"""The pages people read: a run's page (a check run's `details_url`) with its live log, and the
friendly error pages. Templates (Jinja2, autoescaped) in `templates/`; what they show is worked
out in plain values first: the header (`run_view.py`), the log (`log_view.py`, in colour:
`ansi.py`), Markdown as GitHub renders it (`markdown.py`).

A run page is reached only through the unguessable link in the check run; it lists nothing else.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2

from app.pages.history import filter_query, run_rows, sparkline
from app.pages.log_view import log_view
from app.pages.markdown import render_markdown
from app.pages.run_view import Moment, duration, run_view
from app.state.job_history import PAGE, HistoryFilter, Point, Related
from app.state.jobs import Job

CONCLUSIONS = (
    "success",
    "failure",
    "timed_out",
    "cancelled",
    "neutral",
    "skipped",
    "queued",
    "running",
)

TEMPLATES = Path(__file__).parent / "templates"
STATE_COLOURS = {"success": "#1a7f37", "failure": "#cf222e", "timed_out": "#cf222e"}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.globals["duration"] = duration


def favicon(state: str | None) -> str:
    colour = STATE_COLOURS.get(
        state or "", "#9a6700" if state in ("queued", "running") else "#59636e"
    )
    return (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
        f"<circle cx='8' cy='8' r='7' fill='{colour}'/></svg>"
    )


def run_page(
    job: Job,
    data: bytes,
    size: int,
    *,
    now: float | None = None,
    related: Related | None = None,
    nonce: str = "",
) -> str:
    """The page, with the log so far (`data`, `size` bytes of output: more when the log's cap
    dropped some); while the run goes on, it polls for more from there."""
    view = run_view(job, time.time() if now is None else now, related)
    ended = None
    if job.finished_at is not None and job.started_at is not None:
        ended = job.finished_at - job.started_at
    output = job.output
    return _environment.get_template("run.html").render(
        run=view,
        summary=render_markdown(output.summary) if output else "",
        details=render_markdown(output.text) if output and output.text else "",
        log=log_view(data, ended_after=ended),
        log_size=size,
        log_url=f"{job.public_id}/log",
        lines_url=f"{job.public_id}/lines",
        favicon=favicon(view.state),
        nonce=nonce,  # the Content-Security-Policy lets only this script run
    )


def log_lines(data: bytes, first_line: int) -> str:
    """Complete lines of a live log, as the page's rows, numbered from `first_line`."""
    view = log_view(data, window=None, first_line=first_line)
    rows = [row for section in view.sections for row in section.rows]
    return _environment.get_template("rows.html").render(rows=rows)


def not_found(message: str) -> str:
    return _environment.get_template("not_found.html").render(
        message=message, favicon=favicon(None)
    )


def repository_page(
    repository: str,
    jobs: list[Job],
    trends: dict[str, list[Point]],
    chosen: HistoryFilter,
    now: float,
) -> str:
    """A repository's runs, newest first, `PAGE` at a time, with the filters people chose."""
    older = filter_query(chosen, before=jobs[-1].id) if len(jobs) == PAGE else ""
    unfiltered = HistoryFilter()
    return _environment.get_template("repository.html").render(
        repository=repository,
        rows=run_rows(jobs, now),
        checks=list(trends),
        trends={check: sparkline(points) for check, points in trends.items()},
        conclusions=CONCLUSIONS,
        chosen=chosen,
        filtered=chosen != unfiltered,
        older=older,
        show_repository=False,
        favicon=favicon(jobs[0].conclusion or jobs[0].state if jobs else None),
    )


@dataclass(frozen=True)
class Facts:
    """What the front page says about this Conveyor."""

    installations: int
    processes: tuple[str, ...]  # the role of each live process: serve, web, worker
    last_webhook: float | None  # when


def index_page(recent: list[Job], counts: dict[str, int], facts: Facts, now: float) -> str:
    roles = Counter(facts.processes)
    return _environment.get_template("index.html").render(
        rows=run_rows(recent, now),
        queued=counts.get("queued", 0),
        running=counts.get("running", 0),
        installations=facts.installations,
        processes=", ".join(f"{n} {role}" for role, n in sorted(roles.items())) or "none",
        last_webhook=Moment("last webhook", facts.last_webhook) if facts.last_webhook else None,
        app_url=None,
        filtered=False,
        show_repository=True,
        favicon=favicon(None),
    )
