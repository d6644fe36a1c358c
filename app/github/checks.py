"""The check-run lifecycle on GitHub: queued → in_progress → completed.

GitHub's limits (app/report/limits.py: bytes of summary, text, message and details, characters of
titles and buttons, 50 annotations per request) and its rules for annotations (lines and columns
from 1, columns only on one line) are enforced here, at the last step before the API, after
anything else has changed the text (masking secrets): no report however large is ever refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from app.github.client import GitHubClient
from app.report import limits
from app.report.model import Annotation, CheckOutput, Conclusion

RUNS = "/repos/{owner}/{repo}/check-runs"
RUN = "/repos/{owner}/{repo}/check-runs/{check_run_id}"


@dataclass(frozen=True)
class CheckRunRef:
    """Where a check run lives: enough to update it with the installation's token."""

    repo_full_name: str
    installation_id: int
    check_run_id: int

    def url_vars(self) -> dict[str, Any]:
        owner, repo = self.repo_full_name.split("/", 1)
        return {"owner": owner, "repo": repo, "check_run_id": self.check_run_id}


def timestamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create_queued(
    gh: GitHubClient,
    repo_full_name: str,
    installation_id: int,
    *,
    name: str,
    head_sha: str,
    details_url: str,
    external_id: str,
) -> CheckRunRef:
    owner, repo = repo_full_name.split("/", 1)
    data = await gh.request(
        "POST",
        RUNS,
        installation_id,
        {"owner": owner, "repo": repo},
        data={
            "name": name,
            "head_sha": head_sha,
            "status": "queued",
            "details_url": details_url,
            "external_id": external_id,
        },
    )
    return CheckRunRef(repo_full_name, installation_id, int(data["id"]))


async def rename(gh: GitHubClient, ref: CheckRunRef, name: str) -> None:
    await _patch(gh, ref, {"name": name})


async def mark_queued(gh: GitHubClient, ref: CheckRunRef, *, title: str, summary: str) -> None:
    """Back to queued (a run that must start over, e.g. after the service restarted)."""
    await _patch(gh, ref, {"status": "queued", "output": _short_output(title, summary)})


async def mark_in_progress(
    gh: GitHubClient, ref: CheckRunRef, *, started_at: float, title: str, summary: str
) -> None:
    await _patch(
        gh,
        ref,
        {
            "status": "in_progress",
            "started_at": timestamp(started_at),
            "output": _short_output(title, summary),
        },
    )


async def complete(
    gh: GitHubClient,
    ref: CheckRunRef,
    output: CheckOutput,
    *,
    completed_at: float,
) -> None:
    """Post the verdict; annotations beyond the first 50 go in earlier updates of the same run.

    GitHub appends the annotations of every update, so the extra batches are sent first while the
    run is still in progress: the run turns `completed` only once all of it is there.
    """
    output = fit(output)
    batches = [
        output.annotations[i : i + limits.ANNOTATIONS_PER_REQUEST]
        for i in range(0, len(output.annotations), limits.ANNOTATIONS_PER_REQUEST)
    ] or [()]
    for batch in batches[:-1]:
        await _patch(gh, ref, {"output": _output(output.title, output.summary, output.text, batch)})
    body: dict[str, Any] = {
        "status": "completed",
        "conclusion": output.conclusion,
        "completed_at": timestamp(completed_at),
        "output": _output(output.title, output.summary, output.text, batches[-1]),
    }
    if output.actions:
        body["actions"] = [
            {
                "label": limits.chars(a.label, limits.ACTION_LABEL_CHARS),
                "description": limits.chars(a.description, limits.ACTION_DESCRIPTION_CHARS),
                "identifier": limits.chars(a.identifier, limits.ACTION_IDENTIFIER_CHARS),
            }
            for a in output.actions[: limits.ACTIONS]
        ]
    await _patch(gh, ref, body)


async def conclude(
    gh: GitHubClient,
    ref: CheckRunRef,
    conclusion: Conclusion,
    *,
    title: str,
    summary: str,
    completed_at: float,
) -> None:
    """Complete a run with a verdict and no report (cancelled, lost, refused)."""
    await complete(
        gh,
        ref,
        CheckOutput(conclusion=conclusion, title=title, summary=summary),
        completed_at=completed_at,
    )


def fit(output: CheckOutput) -> CheckOutput:
    """The same output, cut where it exceeds what GitHub accepts."""
    return replace(
        output,
        title=limits.title(output.title) or output.conclusion,
        summary=limits.keep_head(output.summary, limits.TEXT_BYTES) or output.conclusion,
        text=limits.keep_head(output.text, limits.TEXT_BYTES),
        annotations=tuple(_fit_annotation(a) for a in output.annotations),
    )


def _fit_annotation(annotation: Annotation) -> Annotation:
    start = max(annotation.start_line, 1)
    end = max(annotation.end_line, start)
    start_column, end_column = annotation.start_column, annotation.end_column
    if start != end:
        start_column = end_column = None  # GitHub takes columns on one-line annotations only
    # Columns count from 1 and end no earlier than they start: a tool's 0-based or reversed
    # columns are moved to the nearest place GitHub accepts, rather than the annotation lost.
    if start_column is not None:
        start_column = max(start_column, 1)
    if end_column is not None:
        end_column = max(end_column, start_column or 1)
    return replace(
        annotation,
        start_line=start,
        end_line=end,
        message=limits.keep_head(annotation.message, limits.ANNOTATION_BLOB_BYTES)
        or "(no message)",
        title=limits.title(annotation.title) if annotation.title else None,
        raw_details=(
            limits.keep_head(annotation.raw_details, limits.ANNOTATION_BLOB_BYTES)
            if annotation.raw_details
            else None
        ),
        start_column=start_column,
        end_column=end_column,
    )


def _short_output(title: str, summary: str) -> dict[str, Any]:
    """The output of a progress update (in progress, queued again), within the limits too."""
    return _output(limits.title(title) or "…", limits.keep_head(summary, limits.TEXT_BYTES) or "…")


def _output(
    title: str, summary: str, text: str = "", annotations: Sequence[Annotation] = ()
) -> dict[str, Any]:
    out: dict[str, Any] = {"title": title, "summary": summary}
    if text:
        out["text"] = text
    if annotations:
        out["annotations"] = [_annotation_json(a) for a in annotations]
    return out


def _annotation_json(a: Annotation) -> dict[str, Any]:
    data: dict[str, Any] = {
        "path": a.path,
        "start_line": a.start_line,
        "end_line": a.end_line,
        "annotation_level": a.level,
        "message": a.message,
    }
    for key in ("title", "raw_details", "start_column", "end_column"):
        value = getattr(a, key)
        if value is not None:
            data[key] = value
    return data


async def _patch(gh: GitHubClient, ref: CheckRunRef, body: dict[str, Any]) -> None:
    await gh.request("PATCH", RUN, ref.installation_id, ref.url_vars(), data=body)
