"""`python -m app protect OWNER/REPO [--branch B]` as an operator runs it: a real subprocess
with the service's settings, GITHUB_API_URL pointing at the local GitHub on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import gidgethub
import pytest
from gidgethub.aiohttp import GitHubAPI

from app.commands.protect import expected_checks, web_url
from app.localgithub import GitHubApp, LocalGitHub, PullRequest, Repository
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from app.state import State
from app.state.database import open_database
from tests.localgithub.conftest import installation_token
from tests.localgithub.helpers import commit, git, new_worktree

ROOT = Path(__file__).resolve().parents[1]
ADMIN = {**DEFAULT_PERMISSIONS, "administration": "write"}


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class World:
    gh: LocalGitHub
    app: GitHubApp
    installation_id: int
    repo: Repository
    work: Path
    data_dir: Path

    def env(self, **changes: str) -> dict[str, str]:
        assert self.gh.url is not None
        env = {
            "GITHUB_APP_ID": str(self.app.id),
            "GITHUB_PRIVATE_KEY": self.app.private_key_pem,
            "GITHUB_WEBHOOK_SECRET": "s",
            "GITHUB_API_URL": self.gh.url,
            "DATA_DIR": str(self.data_dir),
            **changes,
        }
        return {key: value for key, value in env.items() if value}

    async def protect(self, *args: str, **env: str) -> Outcome:
        # Asynchronously: the local GitHub answers from this same event loop.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "protect",
            *args,
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], **self.env(**env)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        return Outcome(process.returncode or 0, out.decode(), err.decode())


@pytest.fixture
def gh(github: LocalGitHub) -> LocalGitHub:
    """The local GitHub (tests/conftest.py), under the name these tests use."""
    return github


async def make_world(gh: LocalGitHub, tmp: Path, permissions: Mapping[str, str] = ADMIN) -> World:
    app = gh.register_app("Conveyor", permissions=permissions)
    installation_id = await gh.install(app, account="octo")
    repo = await gh.create_repository("octo", "hello", installation_id=installation_id)
    work = await new_worktree(tmp / "work")
    await commit(work, {"README.md": "hello\n"}, "Initial commit")
    await gh.push(repo, work)
    return World(gh, app, installation_id, repo, work, tmp / "data")


@pytest.fixture
async def world(gh: LocalGitHub, tmp_path: Path) -> World:
    return await make_world(gh, tmp_path)


async def red_pull_request(world: World) -> PullRequest:
    await git("checkout", "-q", "-b", "feature", cwd=world.work)
    await commit(world.work, {"feature.py": "x = 1\n"}, "Feature")
    await world.gh.push(world.repo, world.work, "feature")
    return await world.gh.open_pull_request(world.repo, head="feature", title="Feature")


async def test_protection_is_set_and_a_red_pull_request_cannot_merge(world: World) -> None:
    result = await world.protect("octo/hello")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"main of octo/hello now requires: tests (from Conveyor, app {world.app.id})"
    assert "had no branch protection" in lines[1]
    shown = world.gh.branch_protection(world.repo, "main")
    assert shown is not None
    assert shown["required_status_checks"]["checks"] == [
        {"context": "tests", "app_id": world.app.id}
    ]

    pr = await red_pull_request(world)
    gh = world.gh
    assert gh.url is not None
    async with aiohttp.ClientSession() as session:
        api = GitHubAPI(session, "test", base_url=gh.url)
        conveyor = await installation_token(api, world.app, world.installation_id)
        merger_app = gh.register_app("merge-bot", permissions={"contents": "write"})
        merger_installation = await gh.install(
            merger_app, account="octo", repositories=[world.repo]
        )
        merger = await installation_token(api, merger_app, merger_installation)
        merge_url = f"/repos/octo/hello/pulls/{pr.number}/merge"
        run = await api.post(
            "/repos/octo/hello/check-runs",
            data={"name": "tests", "head_sha": pr.head_sha, "conclusion": "failure"},
            oauth_token=conveyor,
        )
        with pytest.raises(gidgethub.BadRequest) as caught:
            await api.put(merge_url, data={}, oauth_token=merger)
        assert caught.value.status_code == 405
        assert caught.value.args[0] == 'Required status check "tests" is failing.'
        await api.patch(
            f"/repos/octo/hello/check-runs/{run['id']}",
            data={"conclusion": "success"},
            oauth_token=conveyor,
        )
        merged = await api.put(merge_url, data={}, oauth_token=merger)
        assert merged["merged"] is True

    again = await world.protect("octo/hello", "--branch", "main")
    assert again.returncode == 0
    assert again.stdout.splitlines() == [
        f"main of octo/hello already requires: tests (from Conveyor, app {world.app.id}); "
        "nothing changed"
    ]


async def test_existing_protection_is_kept(world: World) -> None:
    before = await world.gh.protect_branch(
        world.repo,
        "main",
        {
            "required_status_checks": {
                "strict": True,
                "checks": [
                    {"context": "build", "app_id": -1},
                    {"context": "docs", "app_id": 15368},
                ],
            },
            "enforce_admins": True,
            "required_pull_request_reviews": {"required_approving_review_count": 1},
            "restrictions": None,
            "required_linear_history": True,
        },
    )
    result = await world.protect("octo/hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"main of octo/hello now requires: tests (from Conveyor, app {world.app.id})",
        "Also still required, as before: build (any source), docs (app 15368).",
    ]
    after = world.gh.branch_protection(world.repo, "main")
    assert after is not None
    assert after["required_status_checks"]["checks"] == [
        {"context": "build", "app_id": None},
        {"context": "docs", "app_id": 15368},
        {"context": "tests", "app_id": world.app.id},
    ]
    assert after["required_status_checks"]["strict"] is True
    assert {k: v for k, v in after.items() if k != "required_status_checks"} == {
        k: v for k, v in before.items() if k != "required_status_checks"
    }


async def test_check_names_come_from_the_services_database(world: World) -> None:
    state = State.on(open_database(None, world.data_dir))
    state.db.execute(
        "INSERT INTO repo_checks (repo_id, names, updated_at) VALUES (?, ?, 0)",
        (world.repo.id, json.dumps(["tests", "lint"])),
    )
    state.close()
    result = await world.protect("octo/hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"main of octo/hello now requires: tests, lint (from Conveyor, app {world.app.id})"
    )


async def test_without_the_permission_it_says_what_is_missing(
    gh: LocalGitHub, tmp_path: Path
) -> None:
    world = await make_world(gh, tmp_path, DEFAULT_PERMISSIONS)
    result = await world.protect("octo/hello")
    assert result.returncode == 1
    assert result.stdout == ""
    err = result.stderr
    lines = err.splitlines()
    assert lines[0] == (
        "conveyor protect: Conveyor may not change the branch protection of main in octo/hello."
    )
    assert lines[1] == (
        "GitHub answered GET /repos/octo/hello/branches/main/protection with 403 "
        '"Resource not accessible by integration".'
    )
    assert lines[2] == (
        'Missing: the repository permission "Administration: Read and write". The app has '
        '"Administration: No access"; its installation on octo has "No access".'
    )
    assert f"{gh.url}/settings/apps/conveyor/permissions" in err
    assert f"{gh.url}/organizations/octo/settings/installations/{world.installation_id}" in err
    assert "Require status checks to pass before merging" in err
    assert "Settings → Rules → Rulesets → New ruleset → New branch ruleset" in err
    assert f"{gh.url}/octo/hello/settings/branches" in err
    assert f'"integration_id": {world.app.id}' in err
    assert "gh api --hostname 127.0.0.1:" in err
    assert "curl -X POST" in err
    assert world.gh.branch_protection(world.repo, "main") is None

    # The printed ruleset command works for an admin: run its body through the API.
    body_start = lines.index(next(line for line in lines if "--input - <<'EOF'" in line)) + 1
    body_end = lines.index("EOF")
    body = json.loads("\n".join(lines[body_start:body_end]))
    [curl_data] = [line for line in lines if line.startswith("  -d ")]
    assert json.loads(shlex.split(curl_data)[1]) == body
    world.gh.create_ruleset(world.repo, body)
    result = await world.protect("octo/hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"main of octo/hello already requires: tests (from Conveyor, app {world.app.id}) "
        'through the ruleset "Conveyor required checks"; nothing changed'
    )


async def test_granted_but_not_yet_accepted(gh: LocalGitHub, tmp_path: Path) -> None:
    world = await make_world(gh, tmp_path, DEFAULT_PERMISSIONS)
    gh.set_app_permissions(world.app, ADMIN)
    result = await world.protect("octo/hello")
    assert result.returncode == 1
    assert (
        'The app has "Administration: Read and write"; its installation on octo has "No access".'
        in result.stderr
    )
    assert "has not accepted it on the installation yet" in result.stderr
    gh.accept_new_permissions(world.installation_id)
    result = await world.protect("octo/hello")
    assert result.returncode == 0, result.stderr


async def test_not_installed_no_repository_no_branch(world: World) -> None:
    gh = world.gh
    await gh.create_repository("elsewhere", "repo")
    result = await world.protect("elsewhere/repo")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.strip() == (
        f"conveyor protect: Conveyor (app {world.app.id}) is not installed on elsewhere/repo: "
        "it has no installation on the account elsewhere. Install it there first: "
        f"{gh.url}/apps/conveyor/installations/new"
    )
    result = await world.protect("octo/nope")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "conveyor protect: octo/nope: no such repository, or Conveyor's installation on octo "
        "does not include it."
    )
    result = await world.protect("octo/hello", "--branch", "develop")
    assert result.returncode == 1
    assert result.stderr.strip() == "conveyor protect: octo/hello has no branch 'develop'"


async def test_settings_and_arguments(world: World) -> None:
    result = await world.protect("octo/hello", GITHUB_APP_ID="")
    assert result.returncode == 2
    assert result.stderr.strip() == "conveyor protect: GITHUB_APP_ID: missing (see .env.example)"
    result = await world.protect("not-a-repo")
    assert result.returncode == 2
    assert result.stderr.strip() == "conveyor protect: expected OWNER/REPO, got 'not-a-repo'"
    other = world.gh.register_app("Impostor")
    result = await world.protect("octo/hello", GITHUB_PRIVATE_KEY=other.private_key_pem)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "conveyor protect: GitHub refused the app's credentials (401 A JSON web token could "
        "not be decoded); check GITHUB_APP_ID and the private key"
    )
    result = await world.protect("octo/hello", GITHUB_API_URL="http://127.0.0.1:9")
    assert result.returncode == 1
    # Retries are logged as they happen; the last line says why it gave up.
    assert result.stderr.splitlines()[-1].startswith(
        "conveyor protect: cannot reach GitHub at http://127.0.0.1:9: "
    )


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_web_url(api_url: str, web: str) -> None:
    assert web_url(api_url) == web


def test_expected_checks(tmp_path: Path) -> None:
    assert expected_checks(tmp_path, 1) == ("tests",)  # no database
    (tmp_path / "conveyor.sqlite3").write_bytes(b"not a database")
    assert expected_checks(tmp_path, 1) == ("tests",)
    (tmp_path / "conveyor.sqlite3").unlink()
    state = State.on(open_database(None, tmp_path))
    state.db.execute("INSERT INTO repo_checks VALUES (1, ?, 0)", (json.dumps(["a", "b"]),))
    state.db.execute("INSERT INTO repo_checks VALUES (2, ?, 0)", (json.dumps([]),))
    state.close()
    assert expected_checks(tmp_path, 1) == ("a", "b")
    assert expected_checks(tmp_path, 2) == ("tests",)
    assert expected_checks(tmp_path, 3) == ("tests",)


def test_expected_checks_from_postgresql(postgres_url: str, tmp_path: Path) -> None:
    state = State.on(open_database(postgres_url, tmp_path))
    state.db.execute("INSERT INTO repo_checks VALUES (1, ?, 0)", (json.dumps(["a", "b"]),))
    state.close()
    assert expected_checks(tmp_path, 1, postgres_url) == ("a", "b")
    assert expected_checks(tmp_path, 2, postgres_url) == ("tests",)
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    assert expected_checks(tmp_path, 1, unreachable) == ("tests",)


async def _app_without_slug(world: World, *, html_url: bool) -> None:
    """GET /app as GitHub's schema allows it: no `slug` (and perhaps no page either)."""
    assert world.gh.url is not None
    body: dict[str, object] = {
        "id": world.app.id,
        "name": "Conveyor",
        "owner": {"login": "octo", "type": "Organization"},
        "permissions": dict(DEFAULT_PERMISSIONS),
    }
    if html_url:
        body["html_url"] = f"{world.gh.url}/apps/conveyor"
    world.gh.inject_fault("GET", r"^/app$", 200, body=body, times=1)


async def test_an_app_without_a_slug_is_named_from_its_page_or_the_apps_list(
    gh: LocalGitHub, tmp_path: Path
) -> None:
    """GitHub's `GET /app` need not carry `slug` (it is not in the schema's `required`): the
    command used to stop with a KeyError traceback; it now takes the slug from the app's page,
    or points at the list of apps when there is neither."""
    world = await make_world(gh, tmp_path, DEFAULT_PERMISSIONS)
    await gh.create_repository("elsewhere", "repo")

    await _app_without_slug(world, html_url=True)
    result = await world.protect("elsewhere/repo")
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(f"{gh.url}/apps/conveyor/installations/new")

    await _app_without_slug(world, html_url=False)
    result = await world.protect("elsewhere/repo")
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert "Traceback" not in result.stderr
    assert f"Install it there first: {gh.url}/settings/apps" in result.stderr

    await _app_without_slug(world, html_url=False)
    result = await world.protect("octo/hello")
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert "Traceback" not in result.stderr
    assert "may not change the branch protection of main in octo/hello" in result.stderr
    assert f"{gh.url}/organizations/octo/settings/apps\n" in result.stderr


async def test_an_answer_to_get_app_that_is_no_app_is_one_line(world: World) -> None:
    """The schema of `GET /app`'s answer is nullable; without an `id` there is nothing to pin
    the checks to: one line, no traceback."""
    world.gh.inject_fault("GET", r"^/app$", 200, body={"name": "Conveyor"}, times=1)
    result = await world.protect("octo/hello")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("conveyor protect: GitHub's GET /app answered "), result.stderr
    assert "not an app" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
