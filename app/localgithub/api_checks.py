"""The Checks API: check runs (create, update, read, annotations, rerequest) and check suites,
with the webhooks GitHub sends as a consequence."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.localgithub.api_common import hub_of, json_response, paginate, read_json, require_repo
from app.localgithub.auth import Principal
from app.localgithub.checks import annotation_json, create_run, parse_run_request, update_run
from app.localgithub.errors import ApiError, not_found
from app.localgithub.gitcmd import branches_at, commit_exists, resolve_commit
from app.localgithub.hub import Hub
from app.localgithub.records import COMPLETED, RepoRecord, RunRecord, SuiteRecord
from app.localgithub.timeutil import now

DOC_CREATE = "https://docs.github.com/rest/checks/runs#create-a-check-run"
DOC_UPDATE = "https://docs.github.com/rest/checks/runs#update-a-check-run"
DOC_GET = "https://docs.github.com/rest/checks/runs#get-a-check-run"
DOC_ANNOTATIONS = "https://docs.github.com/rest/checks/runs#list-check-run-annotations"
DOC_RUN_RERUN = "https://docs.github.com/rest/checks/runs#rerequest-a-check-run"
DOC_LIST_FOR_REF = "https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference"
DOC_LIST_IN_SUITE = "https://docs.github.com/rest/checks/runs#list-check-runs-in-a-check-suite"
DOC_SUITES_FOR_REF = (
    "https://docs.github.com/rest/checks/suites#list-check-suites-for-a-git-reference"
)
DOC_SUITE = "https://docs.github.com/rest/checks/suites#get-a-check-suite"
DOC_SUITE_RERUN = "https://docs.github.com/rest/checks/suites#rerequest-a-check-suite"

CHECKS_WRITE = ("checks", "write")
CHECKS_READ = ("checks", "read")

routes = web.RouteTableDef()


def _wrong_app(app_id: int, doc: str) -> ApiError:
    return ApiError(
        403,
        f"Invalid app_id `{app_id}` - check run can only be modified by the GitHub App that "
        "created it.",
        documentation_url=doc,
    )


def _run_in_repo(request: web.Request, repo: RepoRecord, doc: str) -> RunRecord:
    try:
        run_id = int(request.match_info["check_run_id"])
    except ValueError as exc:
        raise not_found(doc) from exc
    run = hub_of(request).world.runs.get(run_id)
    if run is None or run.repo_id != repo.id:
        raise not_found(doc)
    return run


def _suite_in_repo(request: web.Request, repo: RepoRecord, doc: str) -> SuiteRecord:
    try:
        suite_id = int(request.match_info["check_suite_id"])
    except ValueError as exc:
        raise not_found(doc) from exc
    suite = hub_of(request).world.suites.get(suite_id)
    if suite is None or suite.repo_id != repo.id:
        raise not_found(doc)
    return suite


async def settle_suite(hub: Hub, suite: SuiteRecord) -> None:
    """Send check_suite completed when the suite's runs have all finished (once per finish)."""
    status, _ = hub.world.suite_status(suite)
    if status != COMPLETED:
        suite.announced_completed = False
        return
    if not suite.announced_completed:
        suite.announced_completed = True
        await hub.events.check_suite(
            "completed", suite, hub.events.bot(hub.world.apps[suite.app_id])
        )


async def _suite_for_new_run(
    hub: Hub, principal: Principal, repo: RepoRecord, sha: str
) -> SuiteRecord:
    # Each app has one suite per commit; a run joins it, creating it if needed. The branch is
    # looked up before the suite, so that no other request can slip in between the lookup and
    # the creation and make a second suite for the same commit.
    branches = await branches_at(repo.bare_path, sha)
    suite = hub.world.suite_for(principal.app.id, repo.id, sha)
    if suite is not None:
        return suite
    if repo.default_branch in branches:
        head_branch: str | None = repo.default_branch
    else:
        head_branch = branches[0] if branches else None
    moment = now()
    suite = SuiteRecord(
        id=hub.world.next_suite_id(),
        app_id=principal.app.id,
        repo_id=repo.id,
        head_sha=sha,
        head_branch=head_branch,
        before=None,
        after=sha,
        created_at=moment,
        updated_at=moment,
    )
    hub.world.suites[suite.id] = suite
    return suite


@routes.post("/repos/{owner}/{repo}/check-runs", name="api-check-run-create")
async def create_check_run(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_CREATE, CHECKS_WRITE)
    hub = hub_of(request)
    parsed = parse_run_request(await read_json(request, DOC_CREATE), creating=True)
    sha = parsed.head_sha or ""
    if not await commit_exists(repo.bare_path, sha):
        raise ApiError(422, f"No commit found for SHA: {sha}", documentation_url=DOC_CREATE)
    suite = await _suite_for_new_run(hub, principal, repo, sha)
    moment = now()
    run = create_run(
        parsed,
        run_id=hub.world.next_run_id(),
        app_id=principal.app.id,
        repo_id=repo.id,
        suite_id=suite.id,
        head_sha=sha,
        default_details_url=principal.app.app.external_url,
        now=moment,
    )
    hub.world.runs[run.id] = run
    suite.reset = False
    suite.updated_at = moment
    bot = hub.events.bot(principal.app)
    await hub.events.check_run("created", run, bot)
    if run.status == COMPLETED:
        await hub.events.check_run("completed", run, bot)
    await settle_suite(hub, suite)
    return json_response(hub.builder.check_run(run, full_suite=False), status=201)


@routes.patch("/repos/{owner}/{repo}/check-runs/{check_run_id}", name="api-check-run-update")
async def update_check_run(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_UPDATE, CHECKS_WRITE)
    hub = hub_of(request)
    run = _run_in_repo(request, repo, DOC_UPDATE)
    if run.app_id != principal.app.id:
        raise _wrong_app(principal.app.id, DOC_UPDATE)
    parsed = parse_run_request(await read_json(request, DOC_UPDATE), creating=False)
    was_completed = run.status == COMPLETED
    moment = now()
    update_run(run, parsed, moment)
    suite = hub.world.suites[run.suite_id]
    suite.reset = False
    suite.updated_at = moment
    if run.status == COMPLETED and not was_completed:
        await hub.events.check_run("completed", run, hub.events.bot(principal.app))
    await settle_suite(hub, suite)
    return json_response(hub.builder.check_run(run, full_suite=False))


@routes.get("/repos/{owner}/{repo}/check-runs/{check_run_id}", name="api-check-run-get")
async def get_check_run(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_GET, CHECKS_READ)
    run = _run_in_repo(request, repo, DOC_GET)
    return json_response(hub_of(request).builder.check_run(run, full_suite=False))


@routes.get(
    "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", name="api-check-run-annotations"
)
async def list_annotations(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_ANNOTATIONS, CHECKS_READ)
    run = _run_in_repo(request, repo, DOC_ANNOTATIONS)
    base = hub_of(request).world.url
    items = [
        annotation_json(
            annotation, f"{base}/{repo.full_name}/blob/{run.head_sha}/{annotation.path}"
        )
        for annotation in run.annotations
    ]
    page, headers = paginate(request, items)
    return json_response(page, headers=headers)


@routes.post(
    "/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest", name="api-check-run-rerequest"
)
async def rerequest_check_run(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_RUN_RERUN, CHECKS_WRITE)
    hub = hub_of(request)
    run = _run_in_repo(request, repo, DOC_RUN_RERUN)
    if run.app_id != principal.app.id:
        raise _wrong_app(principal.app.id, DOC_RUN_RERUN)
    if run.status != COMPLETED:
        raise ApiError(422, "This check run is not rerequestable", documentation_url=DOC_RUN_RERUN)
    # The suite goes back to queued with no conclusion; the run itself is left as it was.
    suite = hub.world.suites[run.suite_id]
    suite.reset = True
    suite.announced_completed = False
    await hub.events.check_run("rerequested", run, hub.events.bot(principal.app))
    return json_response({}, status=201)


def _latest_per_name(runs: list[RunRecord]) -> list[RunRecord]:
    newest: dict[str, RunRecord] = {}
    for run in runs:
        if run.name not in newest or run.id > newest[run.name].id:
            newest[run.name] = run
    return list(newest.values())


def _filter_runs(request: web.Request, runs: list[RunRecord], doc: str) -> list[RunRecord]:
    query = request.query
    run_filter = query.get("filter", "latest")
    if run_filter not in ("latest", "all"):
        raise ApiError(
            422,
            f"Invalid request.\n\nFor 'properties/filter', \"{run_filter}\" is not a member of "
            '["latest", "all"].',
            documentation_url=doc,
        )
    status = query.get("status")
    if status is not None and status not in ("queued", "in_progress", "completed"):
        raise ApiError(
            422,
            f"Invalid request.\n\nFor 'properties/status', \"{status}\" is not a member of "
            '["queued", "in_progress", "completed"].',
            documentation_url=doc,
        )
    if "check_name" in query:
        runs = [run for run in runs if run.name == query["check_name"]]
    if "app_id" in query:
        runs = [run for run in runs if str(run.app_id) == query["app_id"]]
    if run_filter == "latest":
        runs = _latest_per_name(runs)
    if status is not None:
        runs = [run for run in runs if run.status == status]
    return sorted(runs, key=lambda run: run.id, reverse=True)


async def _resolve_ref(repo: RepoRecord, ref: str, doc: str) -> str:
    sha = await resolve_commit(repo.bare_path, ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}", documentation_url=doc)
    return sha


def _runs_page(request: web.Request, runs: list[RunRecord]) -> web.Response:
    hub = hub_of(request)
    page, headers = paginate(request, runs)
    body: dict[str, Any] = {
        "total_count": len(runs),
        "check_runs": [hub.builder.check_run(run, full_suite=False) for run in page],
    }
    return json_response(body, headers=headers)


@routes.get("/repos/{owner}/{repo}/commits/{ref:.+}/check-runs", name="api-check-runs-of-ref")
async def list_runs_for_ref(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_LIST_FOR_REF, CHECKS_READ)
    sha = await _resolve_ref(repo, request.match_info["ref"], DOC_LIST_FOR_REF)
    world = hub_of(request).world
    runs = [run for run in world.runs.values() if run.repo_id == repo.id and run.head_sha == sha]
    return _runs_page(request, _filter_runs(request, runs, DOC_LIST_FOR_REF))


@routes.get("/repos/{owner}/{repo}/commits/{ref:.+}/check-suites", name="api-check-suites-of-ref")
async def list_suites_for_ref(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_SUITES_FOR_REF, CHECKS_READ)
    sha = await _resolve_ref(repo, request.match_info["ref"], DOC_SUITES_FOR_REF)
    hub = hub_of(request)
    suites = [
        suite
        for suite in hub.world.suites.values()
        if suite.repo_id == repo.id and suite.head_sha == sha
    ]
    if "app_id" in request.query:
        suites = [suite for suite in suites if str(suite.app_id) == request.query["app_id"]]
    if "check_name" in request.query:
        wanted = request.query["check_name"]
        suites = [
            suite
            for suite in suites
            if any(run.name == wanted for run in hub.world.runs_of_suite(suite.id))
        ]
    suites.sort(key=lambda suite: suite.id, reverse=True)
    for suite in suites:
        await hub.events.remember_commit(repo, suite.head_sha)
    page, headers = paginate(request, suites)
    body = {
        "total_count": len(suites),
        "check_suites": [_suite_json(hub, suite) for suite in page],
    }
    return json_response(body, headers=headers)


def _suite_json(hub: Hub, suite: SuiteRecord) -> dict[str, Any]:
    body = hub.builder.check_suite(suite)
    body["repository"] = hub.builder.repository(hub.world.repos[suite.repo_id])
    return body


@routes.get("/repos/{owner}/{repo}/check-suites/{check_suite_id}", name="api-check-suite")
async def get_suite(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_SUITE, CHECKS_READ)
    suite = _suite_in_repo(request, repo, DOC_SUITE)
    hub = hub_of(request)
    await hub.events.remember_commit(repo, suite.head_sha)
    return json_response(_suite_json(hub, suite))


@routes.get(
    "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs", name="api-check-suite-runs"
)
async def list_runs_in_suite(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_LIST_IN_SUITE, CHECKS_READ)
    suite = _suite_in_repo(request, repo, DOC_LIST_IN_SUITE)
    runs = hub_of(request).world.runs_of_suite(suite.id)
    return _runs_page(request, _filter_runs(request, runs, DOC_LIST_IN_SUITE))


@routes.post(
    "/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest",
    name="api-check-suite-rerequest",
)
async def rerequest_suite(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_SUITE_RERUN, CHECKS_WRITE)
    hub = hub_of(request)
    suite = _suite_in_repo(request, repo, DOC_SUITE_RERUN)
    if suite.app_id != principal.app.id:
        raise _wrong_app(principal.app.id, DOC_SUITE_RERUN)
    suite.reset = True
    suite.announced_completed = False
    await hub.events.check_suite("rerequested", suite, hub.events.bot(principal.app))
    return json_response({}, status=201)
