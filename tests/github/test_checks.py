"""app/github/checks.py: GitHub's size limits (`fit`) and the final PATCHes (`complete`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from app.github.checks import (
    CheckRunRef,
    complete,
    conclude,
    create_queued,
    fit,
    mark_in_progress,
    timestamp,
)
from app.github.client import GitHubClient
from app.report.limits import ANNOTATION_BLOB_BYTES, CUT, TEXT_BYTES
from app.report.model import Action, Annotation, CheckOutput
from tests.keys import key_pair

PRIVATE_PEM, _ = key_pair()
T0 = 1_700_000_000.0
T0_ISO = "2023-11-14T22:13:20Z"


def annotation(line: int = 3, **fields: Any) -> Annotation:
    values: dict[str, Any] = {
        "path": "tests/test_x.py",
        "start_line": line,
        "end_line": line,
        "level": "failure",
        "message": "assert 1 == 2",
    }
    values.update(fields)
    return Annotation(**values)


def output(**fields: Any) -> CheckOutput:
    values: dict[str, Any] = {"conclusion": "failure", "title": "1 test failed", "summary": "s"}
    values.update(fields)
    return CheckOutput(**values)


# -- fit ---------------------------------------------------------------------------------------


def test_a_report_within_the_limits_is_unchanged() -> None:
    report = output(
        summary="x" * TEXT_BYTES,
        text="é" * (TEXT_BYTES // 2),
        annotations=(annotation(start_column=2, end_column=9, title="测" * 255),),
    )
    assert fit(report) == report


@pytest.mark.parametrize("field_name", ["summary", "text"])
def test_summary_and_text_over_65535_bytes_are_cut_at_a_line_to_fit(field_name: str) -> None:
    original = "".join(f"line {n}\n" for n in range(20_000))  # ~170 000 characters
    cut = getattr(fit(output(**{field_name: original})), field_name)
    assert TEXT_BYTES == 65535
    assert 65535 - 1024 < len(cut.encode()) <= 65535
    assert cut.endswith(CUT)
    kept = cut.removesuffix(CUT)
    assert original.startswith(kept + "\n")  # whole lines


@pytest.mark.parametrize("field_name", ["summary", "text"])
def test_bytes_not_characters_are_counted_in_summary_and_text(field_name: str) -> None:
    """65 535 characters of é are 131 070 bytes: GitHub refuses them ("exceeds a maximum
    bytesize of 65535")."""
    wide = "é€测试\n" * 10_000
    cut = getattr(fit(output(**{field_name: wide})), field_name)
    assert len(cut.encode()) <= TEXT_BYTES
    assert cut.endswith(CUT)
    assert wide.startswith(cut.removesuffix(CUT))


def test_one_byte_over_is_cut() -> None:
    cut = fit(output(text="z" * (TEXT_BYTES - 1) + "é")).text
    assert len(cut.encode()) == TEXT_BYTES
    assert cut == "z" * (TEXT_BYTES - len(CUT.encode())) + CUT


def test_an_empty_title_or_summary_becomes_the_conclusion() -> None:
    fitted = fit(output(conclusion="neutral", title="", summary=""))
    assert (fitted.title, fitted.summary) == ("neutral", "neutral")


def test_columns_are_dropped_on_multi_line_annotations() -> None:
    fitted = fit(
        output(
            annotations=(
                annotation(start_line=3, end_line=5, start_column=1, end_column=4),
                annotation(start_line=7, end_line=7, start_column=1, end_column=4),
            )
        )
    )
    multi, single = fitted.annotations
    assert (multi.start_line, multi.end_line, multi.start_column, multi.end_column) == (
        3,
        5,
        None,
        None,
    )
    assert (single.start_line, single.end_line, single.start_column, single.end_column) == (
        7,
        7,
        1,
        4,
    )


@pytest.mark.parametrize(
    ("columns", "sent"),
    [
        ((0, 0), (1, 1)),  # a tool's 0-based columns
        ((0, 5), (1, 5)),
        ((-3, None), (1, None)),
        ((None, 0), (None, 1)),
        ((7, 3), (7, 7)),  # reversed: a one-column range where it starts
        ((4, 4), (4, 4)),
        ((None, None), (None, None)),
    ],
)
def test_columns_are_made_valid(
    columns: tuple[int | None, int | None], sent: tuple[int | None, int | None]
) -> None:
    """GitHub requires columns of 1 or more and end_column >= start_column."""
    start, end = columns
    [fitted] = fit(
        output(annotations=(annotation(start_column=start, end_column=end),))
    ).annotations
    assert (fitted.start_column, fitted.end_column) == sent


def test_impossible_lines_are_made_valid() -> None:
    zero, backwards = fit(
        output(
            annotations=(
                annotation(start_line=0, end_line=0, start_column=1, end_column=2),
                annotation(start_line=9, end_line=4),
            )
        )
    ).annotations
    assert (zero.start_line, zero.end_line, zero.start_column) == (1, 1, 1)
    assert (backwards.start_line, backwards.end_line) == (9, 9)


def test_annotation_titles_are_cut_to_255_characters() -> None:
    [fitted] = fit(output(annotations=(annotation(title="测" * 300),))).annotations
    assert fitted.title == "测" * 254 + "…"


def test_the_check_title_is_cut_to_255_characters() -> None:
    assert fit(output(title="a" * 1000)).title == "a" * 254 + "…"


def test_annotation_message_and_details_are_cut_in_bytes_without_splitting_a_character() -> None:
    huge = "€" * 30_000  # 3 bytes each: 90 000 bytes
    [fitted] = fit(output(annotations=(annotation(message=huge, raw_details=huge),))).annotations
    for value in (fitted.message, fitted.raw_details):
        assert value is not None
        encoded = value.encode()
        assert len(encoded) <= ANNOTATION_BLOB_BYTES == 65535
        assert value.endswith(CUT)
        assert set(value.removesuffix(CUT)) == {"€"}
        assert len(encoded) > ANNOTATION_BLOB_BYTES - 3 - len(CUT.encode())


def test_an_empty_annotation_message_gets_a_placeholder() -> None:
    [fitted] = fit(output(annotations=(annotation(message="", raw_details=""),))).annotations
    assert fitted.message == "(no message)"
    assert fitted.raw_details is None


def test_timestamps_are_iso_8601_utc() -> None:
    assert timestamp(T0) == T0_ISO
    assert timestamp(T0 + 0.999) == T0_ISO


# -- against a real server ---------------------------------------------------------------------


@dataclass
class ChecksServer:
    url: str = ""
    requests: list[tuple[str, str, str, dict[str, Any] | None]] = field(default_factory=list)

    @property
    def patches(self) -> list[dict[str, Any]]:
        return [body for method, _, _, body in self.requests if method == "PATCH" and body]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/access_tokens"):
            return web.json_response(
                {"token": "ghs_checks", "expires_at": "2999-01-01T00:00:00Z"}, status=201
            )
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(
            (request.method, request.path, request.headers.get("Authorization", ""), body)
        )
        if request.method == "POST":
            return web.json_response({"id": 4711, **(body or {})}, status=201)
        return web.json_response({"id": int(request.path.rsplit("/", 1)[1])})


@pytest.fixture
async def server() -> AsyncIterator[ChecksServer]:
    recorder = ChecksServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    recorder.url = f"http://{host}:{port}"
    try:
        yield recorder
    finally:
        await runner.cleanup()


@pytest.fixture
async def gh(server: ChecksServer) -> AsyncIterator[GitHubClient]:
    async def no_sleep(_: float) -> None:
        return None

    async with aiohttp.ClientSession() as session:
        yield GitHubClient(
            session, api_url=server.url, app_id="77", private_key=PRIVATE_PEM, sleep=no_sleep
        )


REF = CheckRunRef("octo/hello", 31, 4711)


async def test_complete_with_120_annotations_sends_50_50_then_20_and_completes_last(
    server: ChecksServer, gh: GitHubClient
) -> None:
    report = output(
        summary="sum",
        text="details",
        annotations=tuple(annotation(line=n) for n in range(1, 121)),
    )
    await complete(gh, REF, report, completed_at=T0)
    assert [(m, p, a) for m, p, a, _ in server.requests] == [
        ("PATCH", "/repos/octo/hello/check-runs/4711", "token ghs_checks")
    ] * 3
    first, second, last = server.patches
    assert [len(body["output"]["annotations"]) for body in (first, second, last)] == [50, 50, 20]
    sent_lines = [
        a["start_line"] for body in (first, second, last) for a in body["output"]["annotations"]
    ]
    assert sent_lines == list(range(1, 121))
    for body in (first, second):
        assert set(body) == {"output"}  # no status, no conclusion: the run is not done yet
        assert (body["output"]["title"], body["output"]["summary"]) == ("1 test failed", "sum")
        assert body["output"]["text"] == "details"
    assert last["status"] == "completed"
    assert last["conclusion"] == "failure"
    assert last["completed_at"] == T0_ISO
    assert last["output"]["title"] == "1 test failed"
    assert "actions" not in last


async def test_the_annotation_json_has_githubs_field_names(
    server: ChecksServer, gh: GitHubClient
) -> None:
    report = output(
        annotations=(
            annotation(line=4, title="t", raw_details="trace", start_column=2, end_column=5),
            annotation(start_line=5, end_line=6, start_column=1, end_column=3),
        )
    )
    await complete(gh, REF, report, completed_at=T0)
    [body] = server.patches
    assert body["output"]["annotations"] == [
        {
            "path": "tests/test_x.py",
            "start_line": 4,
            "end_line": 4,
            "annotation_level": "failure",
            "message": "assert 1 == 2",
            "title": "t",
            "raw_details": "trace",
            "start_column": 2,
            "end_column": 5,
        },
        {
            "path": "tests/test_x.py",
            "start_line": 5,
            "end_line": 6,
            "annotation_level": "failure",
            "message": "assert 1 == 2",
        },
    ]


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, [0]), (1, [1]), (50, [50]), (51, [50, 1]), (101, [50, 50, 1])]
)
async def test_batches_follow_the_annotation_count(
    server: ChecksServer, gh: GitHubClient, count: int, sizes: list[int]
) -> None:
    report = output(annotations=tuple(annotation(line=n) for n in range(1, count + 1)))
    await complete(gh, REF, report, completed_at=T0)
    patches = server.patches
    assert [len(b["output"].get("annotations", [])) for b in patches] == sizes
    assert [b.get("status") for b in patches] == [None] * (len(patches) - 1) + ["completed"]
    if count == 0:
        assert "annotations" not in patches[0]["output"]


async def test_complete_sends_what_fits_and_at_most_three_actions(
    server: ChecksServer, gh: GitHubClient
) -> None:
    actions = tuple(Action(f"Button {n}", f"does {n}", f"act{n}") for n in range(5))
    report = replace(
        output(conclusion="success", title="", summary="", text="x" * 70_000), actions=actions
    )
    await complete(gh, REF, report, completed_at=T0)
    [body] = server.patches
    assert body["conclusion"] == "success"
    assert body["output"]["title"] == "success"
    assert body["output"]["summary"] == "success"
    assert len(body["output"]["text"].encode()) == TEXT_BYTES
    assert body["actions"] == [
        {"label": "Button 0", "description": "does 0", "identifier": "act0"},
        {"label": "Button 1", "description": "does 1", "identifier": "act1"},
        {"label": "Button 2", "description": "does 2", "identifier": "act2"},
    ]


async def test_conclude_completes_without_a_report(server: ChecksServer, gh: GitHubClient) -> None:
    await conclude(
        gh, REF, "cancelled", title="Superseded", summary="newer commit", completed_at=T0
    )
    assert server.patches == [
        {
            "status": "completed",
            "conclusion": "cancelled",
            "completed_at": T0_ISO,
            "output": {"title": "Superseded", "summary": "newer commit"},
        }
    ]


async def test_create_queued_and_mark_in_progress(server: ChecksServer, gh: GitHubClient) -> None:
    ref = await create_queued(
        gh,
        "octo/hello",
        31,
        name="tests",
        head_sha="a" * 40,
        details_url="https://ci.example.com/runs/abc",
        external_id="12",
    )
    assert ref == CheckRunRef("octo/hello", 31, 4711)
    await mark_in_progress(gh, ref, started_at=T0, title="Running", summary="pytest")
    (post_method, post_path, _, post_body), (patch_method, patch_path, _, patch_body) = (
        server.requests
    )
    assert (post_method, post_path) == ("POST", "/repos/octo/hello/check-runs")
    assert post_body == {
        "name": "tests",
        "head_sha": "a" * 40,
        "status": "queued",
        "details_url": "https://ci.example.com/runs/abc",
        "external_id": "12",
    }
    assert (patch_method, patch_path) == ("PATCH", "/repos/octo/hello/check-runs/4711")
    assert patch_body == {
        "status": "in_progress",
        "started_at": T0_ISO,
        "output": {"title": "Running", "summary": "pytest"},
    }
