from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import gidgethub
import pytest
import pytest_asyncio
from gidgethub import apps
from gidgethub.aiohttp import GitHubAPI

from app.localgithub import GitHubApp, LocalGitHub, PullRequest, Repository
from app.localgithub.steps_apps import DEFAULT_PERMISSIONS
from tests.localgithub.helpers import WebhookReceiver, commit, git, new_worktree

SECRET = "It's a Secret to Everybody"
ADMIN = {**DEFAULT_PERMISSIONS, "administration": "write"}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver(SECRET)
    await hook.start()
    yield hook
    await hook.stop()


@pytest.fixture
def gh(github: LocalGitHub) -> LocalGitHub:
    """The local GitHub (tests/conftest.py), under the name these tests use."""
    return github


@pytest.fixture
def api(gh: LocalGitHub, session: aiohttp.ClientSession) -> GitHubAPI:
    assert gh.url is not None
    return GitHubAPI(session, "conveyor-tests", base_url=gh.url)


@dataclass(frozen=True)
class World:
    """An installed app, one repository with one commit on main, and a work tree."""

    app: GitHubApp
    installation_id: int
    repo: Repository
    work: Path
    sha: str


async def build_world(gh: LocalGitHub, webhook_url: str | None, tmp: Path) -> World:
    app = gh.register_app(name="conveyor", webhook_url=webhook_url, webhook_secret=SECRET)
    installation_id = await gh.install(app, account="octo-org")
    repo = await gh.create_repository("octo-org", "hello", installation_id=installation_id)
    work = await new_worktree(tmp / "work")
    await commit(work, {"README.md": "hello\n", "src/app.py": "print('hi')\n"}, "Initial commit")
    sha = await gh.push(repo, work)
    return World(app=app, installation_id=installation_id, repo=repo, work=work, sha=sha)


@pytest.fixture
async def world(gh: LocalGitHub, receiver: WebhookReceiver, tmp_path: Path) -> World:
    return await build_world(gh, receiver.url, tmp_path)


async def installation_token(api: GitHubAPI, app: GitHubApp, installation_id: int) -> str:
    answer = await apps.get_installation_access_token(
        api,
        installation_id=str(installation_id),
        app_id=str(app.id),
        private_key=app.private_key_pem,
    )
    token = answer["token"]
    assert isinstance(token, str)
    return token


async def admin_token(
    gh: LocalGitHub,
    api: GitHubAPI,
    repo: Repository,
    *,
    name: str = "admin-bot",
    permissions: Mapping[str, str] = ADMIN,
) -> tuple[GitHubApp, str]:
    """Another app, installed on the repository with the given permissions."""
    app = gh.register_app(name, permissions=permissions)
    installation = await gh.install(app, account="octo-org", repositories=[repo])
    return app, await installation_token(api, app, installation)


async def refused(call: Any) -> gidgethub.BadRequest:
    """The error GitHub answers the call with (it must fail)."""
    with pytest.raises(gidgethub.BadRequest) as caught:
        await call
    return caught.value


def protection(*checks: dict[str, Any], strict: bool = False) -> dict[str, Any]:
    """A PUT .../protection body requiring these checks, and nothing else."""
    return {
        "required_status_checks": {"strict": strict, "checks": list(checks)},
        "enforce_admins": True,
        "required_pull_request_reviews": None,
        "restrictions": None,
    }


async def feature_pr(gh: LocalGitHub, world: World) -> PullRequest:
    """A pull request from a new branch `feature` with one commit, into main."""
    await git("checkout", "-q", "-b", "feature", cwd=world.work)
    await commit(world.work, {"feature.txt": "new\n"}, "Add a feature")
    await gh.push(world.repo, world.work, "feature")
    return await gh.open_pull_request(world.repo, head="feature", title="A feature")


async def run(
    api: GitHubAPI, token: str, sha: str, name: str = "tests", **fields: Any
) -> dict[str, Any]:
    """A check run the token's app creates on the world's repository."""
    created: dict[str, Any] = await api.post(
        "/repos/octo-org/hello/check-runs",
        data={"name": name, "head_sha": sha, **fields},
        oauth_token=token,
    )
    return created


@pytest.fixture
async def token(api: GitHubAPI, world: World) -> str:
    return await installation_token(api, world.app, world.installation_id)


# For modules of many small cases that only read or add to the state: one emulator for the
# whole module. Such modules set `pytestmark = pytest.mark.asyncio(loop_scope="module")`.
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LocalGitHub, World, str]]:
    tmp = tmp_path_factory.mktemp("shared")
    gh = LocalGitHub(tmp / "github")
    await gh.start()
    # No webhook URL: these modules are about the API's answers only.
    world = await build_world(gh, None, tmp)
    assert gh.url is not None
    async with aiohttp.ClientSession() as session:
        api = GitHubAPI(session, "conveyor-tests", base_url=gh.url)
        token = await installation_token(api, world.app, world.installation_id)
    yield gh, world, token
    await gh.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def client(shared: tuple[LocalGitHub, World, str]) -> AsyncIterator[GitHubAPI]:
    gh, _, _ = shared
    assert gh.url is not None
    async with aiohttp.ClientSession() as session:
        yield GitHubAPI(session, "conveyor-tests", base_url=gh.url)
