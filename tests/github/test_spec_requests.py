"""Every request body Conveyor sends GitHub validates against the JSON schema of its operation
in GitHub's published OpenAPI description (`@octokit/openapi`, cut to Conveyor's operations in
tests/github/spec/github_spec.json).

The bodies are the ones Conveyor really sends: its functions run against the local GitHub and
the bodies are read back from the call log. The validator is `jsonschema` (the reference
implementation of JSON Schema for Python, pure Python and maintained; OpenAPI 3.0's schema
objects are JSON Schema draft 4 with `nullable`, which extract.py rewrites as a "null" type).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft4Validator, FormatChecker

from app.commands.protect import ruleset_body
from app.github import checks, comments, protection
from app.github.client import GitHubClient
from app.localgithub import LocalGitHub
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from app.report.model import RERUN_ALL, RERUN_FAILED, Annotation, CheckOutput
from tests.github.spec.published import operation, spec
from tests.localgithub.helpers import commit, new_worktree

PERMISSIONS = {**DEFAULT_PERMISSIONS, "administration": "write", "issues": "write"}
T0 = 1_700_000_000.0


def template_of(method: str, path: str) -> str | None:
    """The operation ("METHOD /path/{with}/{names}") a call was made to, if Conveyor's."""
    for key in spec()["operations"]:
        verb, template = key.split(" ", 1)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if verb == method and re.fullmatch(pattern, path):
            return str(key)
    return None


# The one place GitHub's published schema and GitHub disagree: update-branch-protection lists
# the deprecated ("closing down") `contexts` as required beside `strict`, while GitHub takes
# `checks` in its place and refuses a body with both ("If you provide both or neither, you
# will get an Invalid Request"; google/go-github#2976). Conveyor sends `checks`, to pin each
# check to its app; the local GitHub refuses both and neither.
CONTEXTS_OR_CHECKS = "required_status_checks: 'contexts' is a required property"


def problems(key: str, body: Any) -> list[str]:
    schema = operation(*key.split(" ", 1))["schema"]
    validator = Draft4Validator(schema, format_checker=FormatChecker())
    found = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}".lstrip(": ")
        for error in validator.iter_errors(body)
    ]
    status_checks = body.get("required_status_checks") if isinstance(body, dict) else None
    if isinstance(status_checks, dict) and "checks" in status_checks:
        found = [problem for problem in found if problem != CONTEXTS_OR_CHECKS]
    return found


@pytest.fixture
async def client(github: LocalGitHub) -> AsyncIterator[GitHubClient]:
    assert github.url is not None
    app = github.register_app("conveyor", permissions=PERMISSIONS)
    async with aiohttp.ClientSession() as session:
        gh = GitHubClient(
            session, api_url=github.url, app_id=str(app.id), private_key=app.private_key_pem
        )
        yield gh


async def test_every_body_conveyor_sends_fits_githubs_schema(
    github: LocalGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    installation_id = await github.install(github.app(int(client.app_id)), account="octo-org")
    repo = await github.create_repository("octo-org", "hello", installation_id=installation_id)
    work = await new_worktree(tmp_path / "work")
    await commit(work, {"README.md": "hi\n"}, "Initial")
    sha = await github.push(repo, work, "main")
    await github.push(repo, work, "release")
    await github.push(repo, work, "stable")

    # Check runs: created, renamed, queued again, started, completed with everything a report
    # can hold (more than 50 annotations: several updates), and concluded with no report.
    ref = await checks.create_queued(
        client,
        repo.full_name,
        installation_id,
        name="tests",
        head_sha=sha,
        details_url="http://127.0.0.1:1/runs/1",
        external_id="1",
    )
    await checks.rename(client, ref, "tests (3.12)")
    await checks.mark_queued(client, ref, title="Queued again", summary="Conveyor restarted.")
    await checks.mark_in_progress(client, ref, started_at=T0, title="Running", summary="…")
    annotations = tuple(
        Annotation(
            path=f"tests/test_{n}.py",
            start_line=n + 1,
            end_line=n + 1,
            level=("failure", "warning", "notice")[n % 3],
            message=f"assert {n} == {n + 1}",
            title=f"test_{n}",
            raw_details="Traceback…\n" * 3,
            start_column=1 if n % 2 else None,
            end_column=4 if n % 2 else None,
        )
        for n in range(120)
    )
    report = CheckOutput(
        conclusion="failure",
        title="120 tests failed",
        summary="é€测试 " * 20_000,
        text="log\n" * 30_000,
        annotations=annotations,
        actions=(RERUN_FAILED, RERUN_ALL),
    )
    await checks.complete(client, ref, report, completed_at=T0 + 5)
    await checks.conclude(
        client, ref, "cancelled", title="Cancelled", summary="Superseded", completed_at=T0 + 6
    )

    # Branch protection: none yet (PUT), some without status checks (PUT back), with status
    # checks (PATCH of the list).
    installation = await protection.find_installation(client, "octo-org", "hello")
    repository = await protection.get_repository(client, installation, "octo-org", "hello")
    app = await protection.get_app(client)
    ours = (protection.RequiredCheck("tests", app.id), protection.RequiredCheck("lint", app.id))
    await protection.require_checks(client, installation, repository, "main", ours)
    await github.protect_branch(
        repo,
        "release",
        {
            "required_status_checks": None,
            "enforce_admins": True,
            "required_pull_request_reviews": {"required_approving_review_count": 1},
            "restrictions": None,
            "required_linear_history": True,
        },
    )
    await protection.require_checks(client, installation, repository, "release", ours)
    await github.protect_branch(
        repo,
        "stable",
        {
            "required_status_checks": {"strict": True, "checks": [{"context": "ci"}]},
            "enforce_admins": False,
            "required_pull_request_reviews": None,
            "restrictions": None,
        },
    )
    await protection.require_checks(client, installation, repository, "stable", ours)

    # The answer to a refused command.
    issue = await github.open_issue(repo, "Plain")
    said = await github.comment(issue, "/conveyor run", author="mona")
    assert await comments.react(client, repo.full_name, installation_id, said.id, "-1")

    sent: dict[str, int] = {}
    for call in github.calls:
        if call.kind != "api" or call.method not in ("POST", "PATCH", "PUT"):
            continue
        key = template_of(call.method, call.path)
        if key is None:
            assert call.request_json is None, (call.method, call.path)  # e.g. access tokens
            continue
        sent[key] = sent.get(key, 0) + 1
        assert problems(key, call.request_json) == [], (key, call.request_json)
    # Each of Conveyor's operations was exercised (the ruleset is printed, not sent: below).
    assert set(sent) == set(spec()["operations"]) - {"POST /repos/{owner}/{repo}/rulesets"}
    assert sent["PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}"] >= 6
    # And GitHub took each (a 404 of GET .../protection is "not protected", not a refusal).
    assert [c.path for c in github.refused() if c.method != "GET"] == []

    # The ruleset `protect` prints for an admin to POST when it may not change protection.
    body = ruleset_body("main", ours, app)
    assert problems("POST /repos/{owner}/{repo}/rulesets", body) == []


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("POST /repos/{owner}/{repo}/check-runs", {"name": "tests"}),  # no head_sha
        ("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {"conclusion": "green"}),
        (
            "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
            {"output": {"title": "t", "summary": "s", "annotations": [{"path": "a"}]}},
        ),
        ("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", {"content": "no"}),
        (
            "PATCH /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
            {"checks": [{"app_id": 1}]},
        ),
    ],
)
def test_the_schemas_refuse_what_github_refuses(key: str, body: dict[str, Any]) -> None:
    """The check above can fail: bodies GitHub documents as invalid do not pass."""
    assert problems(key, body) != []
