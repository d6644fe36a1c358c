"""REST endpoints around a pull request's content and its end: the files it changes, comparing
two commits, merging it, and comments on issues and pull requests.

Permissions (installation tokens): merging needs Contents write; the files of a pull request
Pull requests read; a comparison Contents read. Issue comments need Issues (read to list,
write to post); on a pull request, Pull requests works as well.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.localgithub import auth, gitcmd
from app.localgithub.api_common import hub_of, json_response, paginate, read_json, require_repo
from app.localgithub.checks import ruby_inspect
from app.localgithub.errors import ApiError, invalid_request, not_accessible_by_integration
from app.localgithub.errors import not_found as not_found_error
from app.localgithub.merging import MERGE_METHODS, MergeRefused, merge
from app.localgithub.records import CommentRecord, PullRecord, RepoRecord
from app.localgithub.timeutil import now

DOC_MERGE = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
DOC_FILES = "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files"
DOC_COMPARE = "https://docs.github.com/rest/commits/commits#compare-two-commits"
DOC_COMMENTS = "https://docs.github.com/rest/issues/comments#list-issue-comments"
DOC_COMMENT_CREATE = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"

CONTENTS_READ = ("contents", "read")
CONTENTS_WRITE = ("contents", "write")
PULLS_READ = ("pull_requests", "read")

# GitHub's caps: a pull request's file list stops at 3000 files, a comparison lists at most
# 300 files and 250 commits.
MAX_PULL_FILES = 3000
MAX_COMPARE_FILES = 300
MAX_COMPARE_COMMITS = 250

routes = web.RouteTableDef()


def _pull(request: web.Request, repo: RepoRecord, doc: str) -> PullRecord:
    try:
        number = int(request.match_info["number"])
    except ValueError as exc:
        raise not_found_error(doc) from exc
    pr = hub_of(request).world.find_pull(repo.id, number)
    if pr is None:
        raise not_found_error(doc)
    return pr


def _optional_string(problems: list[str], body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"For 'properties/{key}', {ruby_inspect(value)} is not a string.")
        return None
    return value


@routes.put("/repos/{owner}/{repo}/pulls/{number}/merge", name="api-pull-merge")
async def merge_pull(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_MERGE, CONTENTS_WRITE)
    hub = hub_of(request)
    pr = _pull(request, repo, DOC_MERGE)
    raw = await read_json(request, DOC_MERGE)
    body = raw if isinstance(raw, dict) else {}
    problems: list[str] = []
    if raw is not None and not isinstance(raw, dict):
        problems.append(f"For 'links/0/schema', {ruby_inspect(raw)} is not an object.")
    method = body.get("merge_method", "merge")
    if method not in MERGE_METHODS:
        members = ", ".join(f'"{name}"' for name in MERGE_METHODS)
        problems.append(
            f"For 'properties/merge_method', {ruby_inspect(method)} is not a member of [{members}]."
        )
    sha = _optional_string(problems, body, "sha")
    title = _optional_string(problems, body, "commit_title")
    message = _optional_string(problems, body, "commit_message")
    if problems:
        raise invalid_request(problems, DOC_MERGE)
    try:
        after, _ = await merge(
            hub,
            pr,
            hub.events.bot(principal.app),
            method=str(method),
            sha=sha,
            title=title,
            message=message,
        )
    except MergeRefused as refused:
        raise ApiError(refused.status, refused.message, documentation_url=DOC_MERGE) from None
    # The deliveries it caused go out in order, like every webhook an API call causes.
    return json_response(
        {"sha": after, "merged": True, "message": "Pull Request successfully merged"}
    )


@routes.get("/repos/{owner}/{repo}/pulls/{number}/files", name="api-pull-files")
async def list_pull_files(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_FILES, PULLS_READ)
    hub = hub_of(request)
    pr = _pull(request, repo, DOC_FILES)
    # What the pull request changes: head against its merge base with the base branch.
    base = await gitcmd.merge_base(repo.bare_path, pr.base_sha, pr.head_sha) or pr.base_sha
    changes = await gitcmd.diff_files(repo.bare_path, base, pr.head_sha)
    items = [hub.builder.file(repo, pr.head_sha, change) for change in changes[:MAX_PULL_FILES]]
    page, headers = paginate(request, items)
    return json_response(page, headers=headers)


@routes.get("/repos/{owner}/{repo}/compare/{basehead:.+}", name="api-compare")
async def compare(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_COMPARE, CONTENTS_READ)
    hub = hub_of(request)
    base_ref, sep, head_ref = request.match_info["basehead"].partition("...")
    if not sep:
        raise not_found_error(DOC_COMPARE)
    base_sha = await gitcmd.resolve_commit(repo.bare_path, base_ref)
    head_sha = await gitcmd.resolve_commit(repo.bare_path, head_ref)
    if base_sha is None or head_sha is None:
        raise not_found_error(DOC_COMPARE)
    merge_base = await gitcmd.merge_base(repo.bare_path, base_sha, head_sha)
    if merge_base is None:
        raise ApiError(
            404,
            f"No common ancestor between {base_ref} and {head_ref}.",
            documentation_url=DOC_COMPARE,
        )
    ahead = await gitcmd.count_commits(repo.bare_path, f"{merge_base}..{head_sha}")
    behind = await gitcmd.count_commits(repo.bare_path, f"{merge_base}..{base_sha}")
    if ahead and behind:
        status = "diverged"
    elif ahead:
        status = "ahead"
    elif behind:
        status = "behind"
    else:
        status = "identical"
    commits = await gitcmd.log_range(repo.bare_path, merge_base, head_sha, MAX_COMPARE_COMMITS)
    changes = await gitcmd.diff_files(repo.bare_path, merge_base, head_sha)
    api = f"{hub.world.url}/repos/{repo.full_name}"
    html = f"{hub.world.url}/{repo.full_name}"
    basehead = request.match_info["basehead"]
    builder = hub.builder
    return json_response(
        {
            "url": f"{api}/compare/{basehead}",
            "html_url": f"{html}/compare/{basehead}",
            "permalink_url": f"{html}/compare/{base_sha[:7]}...{head_sha[:7]}",
            "diff_url": f"{html}/compare/{basehead}.diff",
            "patch_url": f"{html}/compare/{basehead}.patch",
            "base_commit": builder.commit(
                repo, await gitcmd.commit_entry(repo.bare_path, base_sha)
            ),
            "merge_base_commit": builder.commit(
                repo, await gitcmd.commit_entry(repo.bare_path, merge_base)
            ),
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": ahead,
            "commits": [builder.commit(repo, entry) for entry in commits],
            "files": [
                builder.file(repo, head_sha, change) for change in changes[:MAX_COMPARE_FILES]
            ],
        }
    )


# -- issue comments -----------------------------------------------------------------------


def _commented(request: web.Request, repo: RepoRecord, doc: str) -> tuple[int, bool]:
    """The issue number in the path, and whether it is a pull request."""
    try:
        number = int(request.match_info["number"])
    except ValueError as exc:
        raise not_found_error(doc) from exc
    world = hub_of(request).world
    if world.find_pull(repo.id, number) is not None:
        return number, True
    if world.find_issue(repo.id, number) is not None:
        return number, False
    raise not_found_error(doc)


def _may(principal: auth.Principal, level: str, is_pull: bool) -> bool:
    kinds = ("issues", "pull_requests") if is_pull else ("issues",)
    return any(auth.has_permission(principal, kind, level) for kind in kinds)


@routes.get("/repos/{owner}/{repo}/issues/{number}/comments", name="api-issue-comments")
async def list_comments(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_COMMENTS, None)
    number, is_pull = _commented(request, repo, DOC_COMMENTS)
    if not _may(principal, "read", is_pull):
        raise not_accessible_by_integration(DOC_COMMENTS)
    hub = hub_of(request)
    items = [hub.builder.comment(c) for c in hub.world.comments_on(repo.id, number)]
    page, headers = paginate(request, items)
    return json_response(page, headers=headers)


@routes.post("/repos/{owner}/{repo}/issues/{number}/comments", name="api-issue-comment-create")
async def create_comment(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_COMMENT_CREATE, None)
    number, is_pull = _commented(request, repo, DOC_COMMENT_CREATE)
    if not _may(principal, "write", is_pull):
        raise not_accessible_by_integration(DOC_COMMENT_CREATE)
    raw = await read_json(request, DOC_COMMENT_CREATE)
    if not isinstance(raw, dict):
        raise invalid_request(
            [f"For 'links/0/schema', {ruby_inspect(raw)} is not an object."], DOC_COMMENT_CREATE
        )
    if "body" not in raw:
        raise invalid_request(['"body" wasn\'t supplied.'], DOC_COMMENT_CREATE)
    if not isinstance(raw["body"], str):
        raise invalid_request(
            [f"For 'properties/body', {ruby_inspect(raw['body'])} is not a string."],
            DOC_COMMENT_CREATE,
        )
    hub = hub_of(request)
    bot = hub.events.bot(principal.app)
    moment = now()
    comment = CommentRecord(
        id=hub.world.next_comment_id(),
        repo_id=repo.id,
        number=number,
        body=raw["body"],
        author=bot,
        author_association="NONE",
        created_at=moment,
        updated_at=moment,
        app_id=principal.app.id,
    )
    hub.world.comments[comment.id] = comment
    # Every subscribed app hears of it, the one that wrote it included.
    hub.events.issue_comment("created", comment, bot)
    return json_response(hub.builder.comment(comment), status=201)
