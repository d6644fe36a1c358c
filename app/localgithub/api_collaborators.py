"""Who may do what in a repository, and reactions to issue comments: the endpoints an app uses
to decide whether a commenter may command it, and to answer the comment.

`GET /repos/{owner}/{repo}/collaborators/{username}/permission` needs the Metadata permission
(read), which every app holds. It answers 404 for someone who is not a collaborator (as GitHub
documents it); `permission` is the legacy base role (maintain shows as write, triage as read),
`role_name` the role itself.

`POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions` needs Issues write, or Pull
requests write for a comment on a pull request; the same reaction by the same user again is
200 with the existing one (201 when new). `content` must be one of GitHub's eight.
"""

from __future__ import annotations

from aiohttp import web

from app.localgithub import auth
from app.localgithub.api_common import hub_of, json_response, read_json, require_repo
from app.localgithub.checks import ruby_inspect
from app.localgithub.errors import invalid_request, not_accessible_by_integration, not_found
from app.localgithub.records import Account, ReactionRecord, RepoRecord
from app.localgithub.state import World
from app.localgithub.timeutil import iso_required, now

DOC_PERMISSION = (
    "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user"
)
DOC_REACTION = (
    "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment"
)
ROLES = ("admin", "maintain", "write", "triage", "read")
# The legacy base role `permission` shows for each role.
LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")

routes = web.RouteTableDef()


def role_of(world: World, repo: RepoRecord, login: str) -> str | None:
    """The role of `login` in the repository; None: not a collaborator. The owner of a user's
    repository is its admin."""
    if repo.owner.type == "User" and repo.owner.login.lower() == login.lower():
        return "admin"
    return repo.collaborators.get(login.lower())


def _collaborator(request: web.Request, account: Account, role: str) -> dict[str, object]:
    body = hub_of(request).builder.user(account)
    level = ROLES.index(role)
    body["permissions"] = {
        "admin": level <= ROLES.index("admin"),
        "maintain": level <= ROLES.index("maintain"),
        "push": level <= ROLES.index("write"),
        "triage": level <= ROLES.index("triage"),
        "pull": True,
    }
    body["role_name"] = role
    return body


@routes.get(
    "/repos/{owner}/{repo}/collaborators/{username}/permission", name="api-collaborator-permission"
)
async def collaborator_permission(request: web.Request) -> web.Response:
    _, repo = require_repo(request, DOC_PERMISSION, ("metadata", "read"))
    world = hub_of(request).world
    login = request.match_info["username"]
    account = world.accounts.get(login.lower())
    role = role_of(world, repo, login) if account is not None else None
    if account is None or role is None:
        raise not_found(DOC_PERMISSION)
    return json_response(
        {
            "permission": LEGACY[role],
            "role_name": role,
            "user": _collaborator(request, account, role),
        }
    )


def _reaction(request: web.Request, reaction: ReactionRecord) -> dict[str, object]:
    return {
        "id": reaction.id,
        "node_id": f"REA_{reaction.id}",
        "user": hub_of(request).builder.user(reaction.user),
        "content": reaction.content,
        "created_at": iso_required(reaction.created_at),
    }


@routes.post(
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", name="api-comment-reactions"
)
async def create_reaction(request: web.Request) -> web.Response:
    principal, repo = require_repo(request, DOC_REACTION, None)
    hub = hub_of(request)
    try:
        comment = hub.world.comments.get(int(request.match_info["comment_id"]))
    except ValueError:
        comment = None
    if comment is None or comment.repo_id != repo.id:
        raise not_found(DOC_REACTION)
    kinds = ["issues"]
    if hub.world.find_pull(repo.id, comment.number) is not None:
        kinds.append("pull_requests")
    if not any(auth.has_permission(principal, kind, "write") for kind in kinds):
        raise not_accessible_by_integration(
            DOC_REACTION, accepted=", ".join(f"{kind}=write" for kind in kinds)
        )
    raw = await read_json(request, DOC_REACTION)
    if not isinstance(raw, dict):
        raise invalid_request(
            [f"For 'links/0/schema', {ruby_inspect(raw)} is not an object."], DOC_REACTION
        )
    if "content" not in raw:
        raise invalid_request(['"content" wasn\'t supplied.'], DOC_REACTION)
    content = raw["content"]
    if content not in REACTIONS:
        raise invalid_request(
            [
                f"For 'properties/content', {ruby_inspect(content)} is not one of "
                f"{', '.join(REACTIONS)}."
            ],
            DOC_REACTION,
        )
    user = hub.events.bot(principal.app)
    for earlier in comment.reactions:
        if earlier.user == user and earlier.content == content:
            return json_response(_reaction(request, earlier), status=200)
    reaction = ReactionRecord(hub.world.next_reaction_id(), content, user, now())
    comment.reactions.append(reaction)
    return json_response(_reaction(request, reaction), status=201)
