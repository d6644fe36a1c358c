"""GitHub's validation of check-run bodies, and gidgethub raising its 422 exceptions on the
answers. The cases share one emulator (the module-scoped `shared` fixture) to keep the module
fast; each still checks that nothing was created and that the refusal was recorded."""

from __future__ import annotations

from typing import Any

import aiohttp
import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import LocalGitHub
from tests.localgithub.conftest import World

pytestmark = pytest.mark.asyncio(loop_scope="module")

RUNS = "/repos/octo-org/hello/check-runs"


def note(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "path": "src/app.py",
        "start_line": n,
        "end_line": n,
        "annotation_level": "warning",
        "message": f"problem {n}",
        **extra,
    }


def output(**extra: Any) -> dict[str, Any]:
    return {"title": "Tests", "summary": "All good", **extra}


FIELD = gidgethub.InvalidField
VALIDATION = gidgethub.ValidationError
# GitHub's JSON-schema refusals start like this; model refusals say "Validation Failed".
SCHEMA = "Invalid request.\n\n"
LEVELS = '["notice", "warning", "failure"]'


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in note().items() if k != key}


def action(**extra: str) -> dict[str, str]:
    return {"label": "l", "description": "d", "identifier": "i", **extra}


# (case id, body changes from a valid create, exception gidgethub raises, message start)
INVALID: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("no name", {"name": None}, FIELD, SCHEMA + "For 'properties/name', nil is not a string."),
    ("name missing", {"-name": True}, FIELD, SCHEMA + '"name" wasn\'t supplied.'),
    ("head_sha missing", {"-head_sha": True}, FIELD, SCHEMA + '"head_sha" wasn\'t supplied.'),
    ("unknown sha", {"head_sha": "f" * 40}, FIELD, "No commit found for SHA: " + "f" * 40),
    ("short sha", {"head_sha": "SHORT"}, FIELD, "No commit found for SHA: "),
    ("blank name", {"name": "  "}, FIELD, "Validation Failed for 'name'"),
    (
        "relative details_url",
        {"details_url": "/runs/1"},
        VALIDATION,
        "Validation Failed: 'details_url must use the http or https scheme'",
    ),
    (
        "empty details_url",
        {"details_url": ""},
        VALIDATION,
        "Validation Failed: 'details_url must use the http or https scheme'",
    ),
    (
        "actions-only status",
        {"status": "requested"},
        FIELD,
        SCHEMA + "For 'properties/status', \"requested\" is not a member of",
    ),
    (
        "waiting status",
        {"status": "waiting"},
        FIELD,
        SCHEMA + "For 'properties/status', \"waiting\"",
    ),
    (
        "stale conclusion",
        {"conclusion": "stale"},
        FIELD,
        SCHEMA + "For 'properties/conclusion', \"stale\" is not a member of",
    ),
    (
        "completed without conclusion",
        {"status": "completed"},
        FIELD,
        SCHEMA + '"conclusion" wasn\'t supplied.',
    ),
    (
        "completed_at without conclusion",
        {"completed_at": "2024-05-01T10:00:00Z"},
        FIELD,
        SCHEMA + '"conclusion" wasn\'t supplied.',
    ),
    (
        "not a timestamp",
        {"started_at": "yesterday"},
        FIELD,
        SCHEMA + "For 'properties/started_at', \"yesterday\" is not a valid date-time.",
    ),
    (
        "naive timestamp",
        {"started_at": "2024-05-01T10:00:00"},
        FIELD,
        SCHEMA + "For 'properties/started_at'",
    ),
    (
        "output without summary",
        {"output": {"title": "t"}},
        FIELD,
        SCHEMA + '"summary" wasn\'t supplied.',
    ),
    (
        "output without title",
        {"output": {"summary": "s"}},
        FIELD,
        SCHEMA + '"title" wasn\'t supplied.',
    ),
    (
        "summary too long",
        {"output": output(summary="x" * 65536)},
        FIELD,
        SCHEMA + "Only 65535 characters are allowed; 65536 were supplied.",
    ),
    (
        "text too long",
        {"output": output(text="x" * 70000)},
        FIELD,
        SCHEMA + "Only 65535 characters are allowed; 70000 were supplied.",
    ),
    (
        "summary too many bytes",
        {"output": output(summary="é" * 40000)},
        VALIDATION,
        "Validation Failed: 'summary exceeds a maximum bytesize of 65535'",
    ),
    (
        "51 annotations",
        {"output": output(annotations=[note(n) for n in range(1, 52)])},
        FIELD,
        SCHEMA + "No more than 50 items are allowed; 51 were supplied.",
    ),
    (
        "annotation without path",
        {"output": output(annotations=[without("path")])},
        FIELD,
        SCHEMA + '"path" wasn\'t supplied.',
    ),
    (
        "annotation without message",
        {"output": output(annotations=[without("message")])},
        FIELD,
        SCHEMA + '"message" wasn\'t supplied.',
    ),
    (
        "annotation level",
        {"output": output(annotations=[note(annotation_level="error")])},
        FIELD,
        SCHEMA + "For 'properties/annotation_level', \"error\" is not a member of " + LEVELS + ".",
    ),
    (
        "annotation line as text",
        {"output": output(annotations=[note(start_line="3")])},
        FIELD,
        SCHEMA + "For 'properties/start_line', \"3\" is not an integer.",
    ),
    (
        "columns across lines",
        {"output": output(annotations=[note(end_line=4, start_column=1, end_column=3)])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "end before start",
        {"output": output(annotations=[note(5, end_line=2)])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "huge annotation message",
        {"output": output(annotations=[note(message="m" * (64 * 1024 + 1))])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "huge raw_details",
        {"output": output(annotations=[note(raw_details="r" * (64 * 1024 + 1))])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "annotation message too many bytes",
        {"output": output(annotations=[note(message="é" * 40000)])},  # 80 000 bytes
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "annotation raw_details too many bytes",
        {"output": output(annotations=[note(raw_details="测" * 30000)])},  # 90 000 bytes
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "start column 0",
        {"output": output(annotations=[note(start_column=0, end_column=3)])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "end column 0",
        {"output": output(annotations=[note(end_column=0)])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "negative column",
        {"output": output(annotations=[note(start_column=-2)])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "end column before start column",
        {"output": output(annotations=[note(start_column=5, end_column=4)])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "long annotation title",
        {"output": output(annotations=[note(title="t" * 256)])},
        FIELD,
        "Validation Failed for 'annotations'",
    ),
    (
        "image without alt",
        {"output": output(images=[{"image_url": "https://example.com/a.png"}])},
        FIELD,
        SCHEMA + '"alt" wasn\'t supplied.',
    ),
    (
        "four actions",
        {"actions": [action(identifier=f"i{n}") for n in range(4)]},
        FIELD,
        SCHEMA + "No more than 3 items are allowed; 4 were supplied.",
    ),
    (
        "long action label",
        {"actions": [action(label="l" * 21)]},
        FIELD,
        SCHEMA + "Only 20 characters are allowed; 21 were supplied.",
    ),
    (
        "long action description",
        {"actions": [action(description="d" * 41)]},
        FIELD,
        SCHEMA + "Only 40 characters are allowed; 41 were supplied.",
    ),
    (
        "long action identifier",
        {"actions": [action(identifier="i" * 21)]},
        FIELD,
        SCHEMA + "Only 20 characters are allowed; 21 were supplied.",
    ),
    (
        "action without identifier",
        {"actions": [{"label": "l", "description": "d"}]},
        FIELD,
        SCHEMA + '"identifier" wasn\'t supplied.',
    ),
]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
async def test_create_refuses_what_github_refuses(
    client: GitHubAPI,
    shared: tuple[LocalGitHub, World, str],
    changes: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    gh, world, token = shared
    runs_before = len(gh.check_runs())
    body: dict[str, Any] = {"name": "tests", "head_sha": world.sha}
    for key, value in changes.items():
        if key.startswith("-"):
            body.pop(key[1:])
        elif value == "SHORT":
            body[key] = world.sha[:7]
        else:
            body[key] = value
    with pytest.raises(error) as caught:
        await client.post(RUNS, data=body, oauth_token=token)
    assert str(caught.value).startswith(message), str(caught.value)
    assert isinstance(caught.value, gidgethub.BadRequest)
    assert caught.value.status_code == 422
    assert len(gh.check_runs()) == runs_before
    refused = gh.refused()[-1]
    assert refused.status == 422
    assert refused.request_json == body


async def test_update_validates_too(
    client: GitHubAPI, shared: tuple[LocalGitHub, World, str]
) -> None:
    gh, world, token = shared
    run = await client.post(RUNS, data={"name": "tests", "head_sha": world.sha}, oauth_token=token)
    for body in (
        {"status": "completed"},
        {"conclusion": "stale"},
        {"output": {"title": "t"}},
        {"output": output(annotations=[note(n) for n in range(51)])},
    ):
        with pytest.raises(gidgethub.InvalidField):
            await client.patch(f"{RUNS}/{run['id']}", data=body, oauth_token=token)
    assert gh.check_run(run["id"]).history[-1]["action"] == "created"


async def test_unparseable_and_non_object_bodies(shared: tuple[LocalGitHub, World, str]) -> None:
    gh, _, token = shared
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gh.url}{RUNS}", data=b'{"name": ', headers=headers) as answer:
            assert answer.status == 400
            assert (await answer.json())["message"] == "Problems parsing JSON"
        async with session.post(f"{gh.url}{RUNS}", data=b"[1, 2]", headers=headers) as answer:
            assert answer.status == 422
            assert "is not an object" in (await answer.json())["message"]


async def test_limits_that_count_bytes_or_characters_accept_up_to_them(
    client: GitHubAPI, shared: tuple[LocalGitHub, World, str]
) -> None:
    """At the limits exactly, counted as GitHub counts: bytes for summary, text, message and
    raw_details; characters for an annotation title (255 of 3 bytes each is fine); columns from 1,
    a one-column range."""
    gh, world, token = shared
    blob = "€" * (64 * 1024 // 3) + "x"  # 65 536 bytes
    body = {
        "name": "tests",
        "head_sha": world.sha,
        "output": output(
            summary="é" * (65535 // 2) + "x",  # 65 535 bytes
            text="测" * (65535 // 3),  # 65 535 bytes
            annotations=[
                note(message=blob, raw_details=blob, title="测" * 255),
                note(2, start_column=1, end_column=1),
                note(3, start_column=7),
            ],
        ),
    }
    run = await client.post(RUNS, data=body, oauth_token=token)
    assert len(gh.check_run(run["id"]).annotations) == 3
