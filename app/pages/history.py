"""A repository's runs (`/{owner}/{repo}`), the front page's recent runs, and status badges."""

from __future__ import annotations

import html
from collections.abc import Sequence
from urllib.parse import urlencode

from app.pages.run_view import RunView, duration, run_view
from app.state.job_history import FAILING, PASSING, RUNNING, HistoryFilter, Point
from app.state.jobs import Job

BADGE_COLOURS = {PASSING: "#2da44e", FAILING: "#cf222e", RUNNING: "#bf8700"}
VERDICT_COLOURS = {"success": "#2da44e", "failure": "#cf222e", "timed_out": "#cf222e"}


def run_rows(jobs: Sequence[Job], now: float) -> list[tuple[str, RunView]]:
    """Each run's page address and what its row shows."""
    return [(f"/runs/{job.public_id}", run_view(job, now)) for job in jobs]


def filter_query(chosen: HistoryFilter, **changes: object) -> str:
    """The query string of `chosen` with `changes` (None: left out)."""
    values = {
        "branch": chosen.branch,
        "pull": chosen.pull_number,
        "check": chosen.check,
        "conclusion": chosen.conclusion,
        "before": chosen.before,
        **changes,
    }
    return urlencode({k: v for k, v in values.items() if v is not None})


def badge_svg(label: str, status: str) -> str:
    """A status badge, in the shape people know from shields.io; `label` is escaped."""
    colour = BADGE_COLOURS.get(status, "#6e7781")
    left = 6 * len(label) + 12
    right = 6 * len(status) + 12
    width = left + right
    e = html.escape
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{e(label)}: {e(status)}">
<title>{e(label)}: {e(status)}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/><rect width="{width}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="{left / 2}" y="14">{e(label)}</text><text x="{left + right / 2}" y="14">{e(status)}</text></g>
</svg>"""  # noqa: E501 - one element a line reads best


def sparkline(points: Sequence[Point]) -> str:
    """A check's recent runs as bars, oldest first: height its duration, colour its verdict."""
    if not points:
        return ""
    longest = max((p.seconds or 0.0 for p in points), default=0.0) or 1.0
    bars = []
    for index, point in enumerate(points):
        height = max(2.0, 22 * (point.seconds or 0.0) / longest)
        colour = VERDICT_COLOURS.get(point.conclusion, "#8c959f")
        took = f" in {duration(point.seconds)}" if point.seconds is not None else ""
        title = html.escape(f"{point.conclusion}{took}")
        bars.append(
            f'<rect x="{index * 6}" y="{24 - height:.1f}" width="4" height="{height:.1f}"'
            f' fill="{colour}"><title>{title}</title></rect>'
        )
    width = 6 * len(points)
    return (
        f'<svg class="trend" width="{width}" height="24" viewBox="0 0 {width} 24" role="img"'
        f' aria-label="recent runs">{"".join(bars)}</svg>'
    )
