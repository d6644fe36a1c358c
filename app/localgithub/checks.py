"""Check-run request bodies: GitHub's validation, then the change they make to a run.

GitHub refuses a body in two stages, and a client sees which one by the shape of the 422:
the JSON-schema check ("Invalid request.\\n\\n<one line per problem>", no `errors` list) and
the model's own validation ("Validation Failed" with `errors` naming resource, code, field).
Both are reproduced with GitHub's wording where it is known.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.localgithub.errors import invalid_request, validation_failed
from app.localgithub.models import Annotation, CheckRunAction
from app.localgithub.records import COMPLETED, RunRecord
from app.localgithub.timeutil import parse_rfc3339

CREATE_DOC = "https://docs.github.com/rest/checks/runs#create-a-check-run"
UPDATE_DOC = "https://docs.github.com/rest/checks/runs#update-a-check-run"

# `requested`, `waiting` and `pending` exist but only GitHub Actions may set them.
APP_STATUSES = ("queued", "in_progress", "completed")
# `stale` (and `startup_failure`) exist but only GitHub sets them.
APP_CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "timed_out",
)
ANNOTATION_LEVELS = ("notice", "warning", "failure")

MAX_TEXT = 65535
MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_ANNOTATION_BLOB = 64 * 1024
MAX_ANNOTATION_TITLE = 255
MAX_ACTIONS = 3
MAX_ACTION_LABEL = 20
MAX_ACTION_DESCRIPTION = 40
MAX_ACTION_IDENTIFIER = 20


def ruby_inspect(value: Any) -> str:
    """How GitHub's (Ruby) schema validator prints a value in its messages."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(ruby_inspect(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))}=>{ruby_inspect(v)}" for k, v in value.items())
        return "{" + inner + "}"
    return json.dumps(value)


class _Schema:
    """Collects schema problems the way GitHub lists them, one line each."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def _present(self, obj: Mapping[str, Any], key: str, required: bool) -> bool:
        if key in obj:
            return True
        if required:
            self.problems.append(f'"{key}" wasn\'t supplied.')
        return False

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        enum: Sequence[str] | None = None,
        date_time: bool = False,
    ) -> str | None:
        if not self._present(obj, key, required):
            return None
        value = obj[key]
        where = f"For 'properties/{key}',"
        if not isinstance(value, str):
            self.problems.append(f"{where} {ruby_inspect(value)} is not a string.")
            return None
        if enum is not None and value not in enum:
            members = ", ".join(json.dumps(member) for member in enum)
            self.problems.append(f"{where} {ruby_inspect(value)} is not a member of [{members}].")
            return None
        if max_length is not None and len(value) > max_length:
            self.problems.append(
                f"Only {max_length} characters are allowed; {len(value)} were supplied."
            )
            return None
        if date_time and parse_rfc3339(value) is None:
            self.problems.append(f"{where} {ruby_inspect(value)} is not a valid date-time.")
            return None
        return value

    def integer(self, obj: Mapping[str, Any], key: str, *, required: bool = False) -> int | None:
        if not self._present(obj, key, required):
            return None
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(
                f"For 'properties/{key}', {ruby_inspect(value)} is not an integer."
            )
            return None
        return value

    def obj(self, obj: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
        if key not in obj:
            return None
        value = obj[key]
        if not isinstance(value, dict):
            self.problems.append(f"For 'properties/{key}', {ruby_inspect(value)} is not an object.")
            return None
        return value

    def array(
        self, obj: Mapping[str, Any], key: str, *, max_items: int | None = None
    ) -> list[Any] | None:
        if key not in obj:
            return None
        value = obj[key]
        if not isinstance(value, list):
            self.problems.append(f"For 'properties/{key}', {ruby_inspect(value)} is not an array.")
            return None
        if max_items is not None and len(value) > max_items:
            self.problems.append(
                f"No more than {max_items} items are allowed; {len(value)} were supplied."
            )
            return None
        return value

    def item_object(self, value: Any) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.problems.append(f"For 'items', {ruby_inspect(value)} is not an object.")
            return None
        return value


@dataclass(frozen=True)
class OutputRequest:
    title: str
    summary: str
    text: str | None
    annotations: tuple[Annotation, ...]
    images: tuple[dict[str, str], ...] | None


@dataclass(frozen=True)
class RunRequest:
    name: str | None
    head_sha: str | None
    details_url: str | None
    external_id: str | None
    status: str | None
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    output: OutputRequest | None
    actions: tuple[CheckRunAction, ...] | None


def _annotation(schema: _Schema, raw: Any) -> Annotation | None:
    item = schema.item_object(raw)
    if item is None:
        return None
    before = len(schema.problems)
    path = schema.string(item, "path", required=True)
    start_line = schema.integer(item, "start_line", required=True)
    end_line = schema.integer(item, "end_line", required=True)
    start_column = schema.integer(item, "start_column")
    end_column = schema.integer(item, "end_column")
    level = schema.string(item, "annotation_level", required=True, enum=ANNOTATION_LEVELS)
    message = schema.string(item, "message", required=True)
    title = schema.string(item, "title")
    raw_details = schema.string(item, "raw_details")
    if (
        len(schema.problems) != before
        or path is None
        or start_line is None
        or end_line is None
        or level is None
        or message is None
    ):
        return None
    return Annotation(
        path=path,
        start_line=start_line,
        end_line=end_line,
        annotation_level=level,
        message=message,
        start_column=start_column,
        end_column=end_column,
        title=title,
        raw_details=raw_details,
    )


def _image(schema: _Schema, raw: Any) -> dict[str, str] | None:
    item = schema.item_object(raw)
    if item is None:
        return None
    before = len(schema.problems)
    alt = schema.string(item, "alt", required=True)
    image_url = schema.string(item, "image_url", required=True)
    caption = schema.string(item, "caption")
    if len(schema.problems) != before or alt is None or image_url is None:
        return None
    image = {"alt": alt, "image_url": image_url}
    if caption is not None:
        image["caption"] = caption
    return image


def _action(schema: _Schema, raw: Any) -> CheckRunAction | None:
    item = schema.item_object(raw)
    if item is None:
        return None
    before = len(schema.problems)
    label = schema.string(item, "label", required=True, max_length=MAX_ACTION_LABEL)
    description = schema.string(
        item, "description", required=True, max_length=MAX_ACTION_DESCRIPTION
    )
    identifier = schema.string(item, "identifier", required=True, max_length=MAX_ACTION_IDENTIFIER)
    if len(schema.problems) != before or label is None or description is None or identifier is None:
        return None
    return CheckRunAction(label=label, description=description, identifier=identifier)


def _output(schema: _Schema, raw: Mapping[str, Any]) -> OutputRequest | None:
    before = len(schema.problems)
    title = schema.string(raw, "title", required=True)
    summary = schema.string(raw, "summary", required=True, max_length=MAX_TEXT)
    text = schema.string(raw, "text", max_length=MAX_TEXT)
    annotations: list[Annotation] = []
    raw_annotations = schema.array(raw, "annotations", max_items=MAX_ANNOTATIONS_PER_REQUEST)
    for item in raw_annotations or []:
        annotation = _annotation(schema, item)
        if annotation is not None:
            annotations.append(annotation)
    images: list[dict[str, str]] | None = None
    raw_images = schema.array(raw, "images")
    if raw_images is not None:
        images = []
        for item in raw_images:
            image = _image(schema, item)
            if image is not None:
                images.append(image)
    if len(schema.problems) != before or title is None or summary is None:
        return None
    return OutputRequest(
        title=title,
        summary=summary,
        text=text,
        annotations=tuple(annotations),
        images=tuple(images) if images is not None else None,
    )


def _model_errors(request: RunRequest) -> list[dict[str, Any]]:
    """Rules the model enforces once the body has the right shape."""
    errors: list[dict[str, Any]] = []
    if request.name is not None and not request.name.strip():
        errors.append({"code": "missing_field", "field": "name"})
    if request.details_url is not None and urlsplit(request.details_url).scheme not in (
        "http",
        "https",
    ):
        # Also what an empty string or a path relative to the service gets.
        errors.append(
            {
                "code": "custom",
                "field": "details_url",
                "message": "details_url must use the http or https scheme",
            }
        )
    output = request.output
    if output is not None:
        for field_name, value in (("summary", output.summary), ("text", output.text)):
            # The schema counts characters; the database column counts bytes.
            if value is not None and len(value.encode("utf-8")) > MAX_TEXT:
                errors.append(
                    {
                        "code": "custom",
                        "field": field_name,
                        "message": f"{field_name} exceeds a maximum bytesize of {MAX_TEXT}",
                    }
                )
        if any(not _annotation_ok(annotation) for annotation in output.annotations):
            errors.append({"code": "invalid", "field": "annotations"})
    return errors


def _annotation_ok(annotation: Annotation) -> bool:
    has_columns = annotation.start_column is not None or annotation.end_column is not None
    if has_columns and annotation.start_line != annotation.end_line:
        return False
    # Columns count from 1, and a range ends no earlier than it starts.
    columns = [c for c in (annotation.start_column, annotation.end_column) if c is not None]
    if any(column < 1 for column in columns):
        return False
    if len(columns) == 2 and columns[1] < columns[0]:
        return False
    if annotation.end_line < annotation.start_line:
        return False
    # message and raw_details are measured in bytes, as summary and text are; title in
    # characters, as its documentation says.
    if len(annotation.message.encode("utf-8")) > MAX_ANNOTATION_BLOB:
        return False
    if annotation.raw_details is not None and (
        len(annotation.raw_details.encode("utf-8")) > MAX_ANNOTATION_BLOB
    ):
        return False
    return annotation.title is None or len(annotation.title) <= MAX_ANNOTATION_TITLE


def parse_run_request(body: Any, *, creating: bool) -> RunRequest:
    """The check-run fields in a create (POST) or update (PATCH) body; ApiError 422 if GitHub
    would refuse it. Unknown keys are ignored, as GitHub does."""
    doc = CREATE_DOC if creating else UPDATE_DOC
    if not isinstance(body, dict):
        raise invalid_request(
            [f"For 'links/0/schema', {ruby_inspect(body)} is not an object."], doc
        )
    schema = _Schema()
    name = schema.string(body, "name", required=creating)
    head_sha = schema.string(body, "head_sha", required=True) if creating else None
    details_url = schema.string(body, "details_url")
    external_id = schema.string(body, "external_id")
    status = schema.string(body, "status", enum=APP_STATUSES)
    conclusion = schema.string(body, "conclusion", enum=APP_CONCLUSIONS)
    started_at = schema.string(body, "started_at", date_time=True)
    completed_at = schema.string(body, "completed_at", date_time=True)
    raw_output = schema.obj(body, "output")
    output = _output(schema, raw_output) if raw_output is not None else None
    actions: list[CheckRunAction] | None = None
    raw_actions = schema.array(body, "actions", max_items=MAX_ACTIONS)
    if raw_actions is not None:
        actions = []
        for item in raw_actions:
            action = _action(schema, item)
            if action is not None:
                actions.append(action)
    # "conclusion: Required if you provide completed_at or a status of completed."
    if "conclusion" not in body and (status == COMPLETED or "completed_at" in body):
        schema.problems.append('"conclusion" wasn\'t supplied.')
    if schema.problems:
        raise invalid_request(schema.problems, doc)
    request = RunRequest(
        name=name,
        head_sha=head_sha,
        details_url=details_url,
        external_id=external_id,
        status=status,
        conclusion=conclusion,
        started_at=parse_rfc3339(started_at) if started_at else None,
        completed_at=parse_rfc3339(completed_at) if completed_at else None,
        output=output,
        actions=tuple(actions) if actions is not None else None,
    )
    errors = _model_errors(request)
    if errors:
        raise validation_failed("CheckRun", errors, doc)
    return request


def _history(run: RunRecord, action: str, request: RunRequest, now: datetime) -> dict[str, Any]:
    return {
        "action": action,
        "status": run.status,
        "conclusion": run.conclusion,
        "title": run.output_title,
        "annotations_added": len(request.output.annotations) if request.output else 0,
        "time": now,
    }


def _apply(run: RunRecord, request: RunRequest, now: datetime) -> None:
    if request.name is not None:
        run.name = request.name
    if request.details_url is not None:
        run.details_url = request.details_url
    if request.external_id is not None:
        run.external_id = request.external_id
    if request.started_at is not None:
        run.started_at = request.started_at
    if request.conclusion is not None:
        # "Providing conclusion will automatically set the status parameter to completed."
        run.status = COMPLETED
        run.conclusion = request.conclusion
        run.completed_at = request.completed_at or run.completed_at or now
    elif request.status is not None:
        run.status = request.status
        # Moving a finished run back to queued/in_progress clears its verdict.
        run.conclusion = None
        run.completed_at = None
    output = request.output
    if output is not None:
        run.output_title = output.title
        run.output_summary = output.summary
        if output.text is not None:
            run.output_text = output.text
        if output.images is not None:
            run.images = [dict(image) for image in output.images]
        # Annotations accumulate across requests; they are never replaced.
        run.annotations.extend(output.annotations)
    if request.actions is not None:
        run.actions = list(request.actions)


def create_run(
    request: RunRequest,
    *,
    run_id: int,
    app_id: int,
    repo_id: int,
    suite_id: int,
    head_sha: str,
    default_details_url: str,
    now: datetime,
) -> RunRecord:
    assert request.name is not None
    run = RunRecord(
        id=run_id,
        app_id=app_id,
        repo_id=repo_id,
        suite_id=suite_id,
        name=request.name,
        head_sha=head_sha,
        status=request.status or "queued",
        conclusion=None,
        started_at=now,
        completed_at=None,
        details_url=default_details_url,
        external_id="",
    )
    _apply(run, request, now)
    if run.status == COMPLETED and run.completed_at is None:
        run.completed_at = now
    run.history.append(_history(run, "created", request, now))
    return run


def update_run(run: RunRecord, request: RunRequest, now: datetime) -> None:
    _apply(run, request, now)
    run.history.append(_history(run, "updated", request, now))


def annotation_json(annotation: Annotation, blob_href: str) -> dict[str, Any]:
    return {
        "path": annotation.path,
        "blob_href": blob_href,
        "start_line": annotation.start_line,
        "start_column": annotation.start_column,
        "end_line": annotation.end_line,
        "end_column": annotation.end_column,
        "annotation_level": annotation.annotation_level,
        "title": annotation.title or "",
        "message": annotation.message,
        "raw_details": annotation.raw_details or "",
    }
