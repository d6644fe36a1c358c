"""Making a branch require Conveyor's checks, through GitHub's REST API.

A required check is matched by name, and GitHub lets a requirement name the app that must
report it (`app_id` in branch protection, `integration_id` in a ruleset): Conveyor pins its
checks to its own app id, so that no other app or commit status can turn them green.

Everything else of an existing protection is kept: when the branch already requires status
checks, only that list is PATCHed (other checks stay, with their sources); when it is protected
without status checks, the protection is PUT back as it was, plus the checks; when it is not
protected, a minimal protection is PUT. All of it needs the "Administration: write" permission;
without it GitHub answers 403 "Resource not accessible by integration", raised here as
`NotPermitted` with what the app and the installation hold, so that the caller can say exactly
what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gidgethub import BadRequest

from app.github.client import GitHubClient

ADMINISTRATION = "administration"

# The on/off settings of classic protection that GET shows as {"enabled": bool} and PUT takes
# as plain booleans. (`required_signatures` has endpoints of its own; a PUT leaves it alone.)
FLAGS = (
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)


@dataclass(frozen=True)
class RequiredCheck:
    context: str
    app_id: int | None  # None: any source satisfies it

    def payload(self) -> dict[str, Any]:
        # -1 is how the API says "any source"; leaving app_id out would make GitHub pin the
        # check to whichever app reported it last, changing a requirement we meant to keep.
        return {"context": self.context, "app_id": -1 if self.app_id is None else self.app_id}


@dataclass(frozen=True)
class App:
    id: int
    # GitHub's schema of `GET /app` does not require `slug`: None when neither it nor the
    # app's page (html_url, https://github.com/apps/SLUG) says it.
    slug: str | None
    name: str
    owner: str
    owner_type: str  # "User" or "Organization"
    html_url: str
    permissions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Installation:
    id: int
    account: str
    account_type: str
    permissions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Repository:
    id: int
    full_name: str
    default_branch: str
    html_url: str


@dataclass(frozen=True)
class Outcome:
    """What the branch requires after `require_checks`."""

    branch: str
    action: str  # "created" (protection was off), "updated" or "unchanged"
    required: tuple[RequiredCheck, ...]  # every required check now, ours included
    ours: tuple[RequiredCheck, ...]
    strict: bool
    via_ruleset: str | None = None  # the active ruleset that already requires them


class ProtectionError(Exception):
    """A reason the checks could not be required; the message names what is wrong."""


class NotInstalled(ProtectionError):
    def __init__(self, owner: str, repo: str, *, installed_on_account: bool) -> None:
        super().__init__(f"{owner}/{repo}: the app is not installed there")
        self.owner = owner
        self.repo = repo
        self.installed_on_account = installed_on_account


class BranchNotFound(ProtectionError):
    def __init__(self, full_name: str, branch: str) -> None:
        super().__init__(f"{full_name} has no branch {branch!r}")
        self.full_name = full_name
        self.branch = branch


class NotPermitted(ProtectionError):
    """GitHub refused a call with 403 (a missing permission, or a plan that lacks the
    feature); `message` is GitHub's own words."""

    def __init__(self, method: str, path: str, message: str) -> None:
        super().__init__(f"{method} {path}: 403 {message}")
        self.method = method
        self.path = path
        self.message = message


def _message(error: BadRequest) -> str:
    return str(error.args[0]) if error.args else ""


def _status(error: BadRequest) -> int:
    return int(error.status_code)


def _slug(data: Mapping[str, Any]) -> str | None:
    slug = data.get("slug")
    if isinstance(slug, str) and slug:
        return slug
    page = urlsplit(str(data.get("html_url") or ""))
    parts = page.path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "apps" and parts[1]:
        return parts[1]
    return None


async def get_app(client: GitHubClient) -> App:
    """The app as `GET /app` shows it; only `id` is relied on (the schema requires little:
    no slug, and the owner may be an enterprise, which has no login)."""
    data = await client.api.getitem("/app", jwt=client.app_jwt())
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        # The schema of the answer is nullable, and `id` is all this needs of it.
        raise ProtectionError(f"GitHub's GET /app answered {str(data)[:200]!r}, not an app")
    owner = data.get("owner") or {}
    slug = _slug(data)
    app_id = int(data["id"])
    return App(
        id=app_id,
        slug=slug,
        name=str(data.get("name") or slug or f"app {app_id}"),
        owner=str(owner.get("login") or ""),
        owner_type=str(owner.get("type") or "User"),
        html_url=str(data.get("html_url") or ""),
        permissions=dict(data.get("permissions") or {}),
    )


async def find_installation(client: GitHubClient, owner: str, repo: str) -> Installation:
    """The app's installation that can reach owner/repo. GitHub answers 404 alike for a
    repository that does not exist and one the app may not see, so on a 404 the app's
    installations are searched for the account, to say which of the two it is not."""
    try:
        data = await client.api.getitem(
            "/repos/{owner}/{repo}/installation",
            {"owner": owner, "repo": repo},
            jwt=client.app_jwt(),
        )
    except BadRequest as error:
        if _status(error) != 404:
            raise
        on_account = False
        async for item in client.api.getiter("/app/installations", jwt=client.app_jwt()):
            account = item.get("account") or {}
            if str(account.get("login", "")).lower() == owner.lower():
                on_account = True
                break
        raise NotInstalled(owner, repo, installed_on_account=on_account) from None
    account = data.get("account") or {}
    return Installation(
        id=int(data["id"]),
        account=str(account.get("login", owner)),
        account_type=str(account.get("type", data.get("target_type", "User"))),
        permissions=dict(data.get("permissions") or {}),
    )


async def get_repository(
    client: GitHubClient, installation: Installation, owner: str, repo: str
) -> Repository:
    try:
        data = await client.request(
            "GET", "/repos/{owner}/{repo}", installation.id, {"owner": owner, "repo": repo}
        )
    except BadRequest as error:
        if _status(error) == 404:
            raise NotInstalled(owner, repo, installed_on_account=True) from None
        raise
    return Repository(
        id=int(data["id"]),
        full_name=str(data["full_name"]),
        default_branch=str(data["default_branch"]),
        html_url=str(data.get("html_url", "")),
    )


async def check_branch(
    client: GitHubClient, installation: Installation, repository: Repository, branch: str
) -> None:
    """BranchNotFound unless the branch exists (needs Contents read, which Conveyor has)."""
    owner, repo = repository.full_name.split("/", 1)
    try:
        await client.request(
            "GET",
            "/repos/{owner}/{repo}/branches/{branch}",
            installation.id,
            {"owner": owner, "repo": repo, "branch": branch},
        )
    except BadRequest as error:
        if _status(error) == 404:
            raise BranchNotFound(repository.full_name, branch) from None
        if _status(error) != 403:  # without Contents read, the protection calls will tell
            raise


def checks_of(section: Mapping[str, Any] | None) -> tuple[RequiredCheck, ...]:
    """The required checks of a `required_status_checks` object (`checks`, or the older
    `contexts` alone)."""
    if not section:
        return ()
    if "checks" in section:
        return tuple(
            RequiredCheck(str(item["context"]), item.get("app_id"))
            for item in section.get("checks") or []
        )
    return tuple(RequiredCheck(str(name), None) for name in section.get("contexts") or [])


def _people(section: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    if section is None:
        return None
    return {
        "users": [str(user["login"]) for user in section.get("users") or []],
        "teams": [str(team["slug"]) for team in section.get("teams") or []],
        "apps": [str(app["slug"]) for app in section.get("apps") or []],
    }


def put_body(current: Mapping[str, Any], status_checks: dict[str, Any] | None) -> dict[str, Any]:
    """The PUT body that gives back the protection GET showed, with `status_checks` as its
    required_status_checks. GET shows objects (users, teams, apps) and {"enabled": ...}
    where PUT takes names and booleans."""
    reviews = current.get("required_pull_request_reviews")
    reviews_body: dict[str, Any] | None = None
    if reviews is not None:
        reviews_body = {
            key: reviews[key]
            for key in (
                "dismiss_stale_reviews",
                "require_code_owner_reviews",
                "required_approving_review_count",
                "require_last_push_approval",
            )
            if key in reviews
        }
        for key in ("dismissal_restrictions", "bypass_pull_request_allowances"):
            if key in reviews:
                reviews_body[key] = _people(reviews[key])
    body: dict[str, Any] = {
        "required_status_checks": status_checks,
        "enforce_admins": bool((current.get("enforce_admins") or {}).get("enabled", False)),
        "required_pull_request_reviews": reviews_body,
        "restrictions": _people(current.get("restrictions")),
    }
    for flag in FLAGS:
        if flag in current:
            body[flag] = bool((current[flag] or {}).get("enabled", False))
    return body


async def read_protection(
    client: GitHubClient, installation: Installation, repository: Repository, branch: str
) -> dict[str, Any] | None:
    """The branch's protection as GET shows it; None when the branch is not protected."""
    owner, repo = repository.full_name.split("/", 1)
    path = "/repos/{owner}/{repo}/branches/{branch}/protection"
    variables = {"owner": owner, "repo": repo, "branch": branch}
    try:
        data: dict[str, Any] = await client.request("GET", path, installation.id, variables)
    except BadRequest as error:
        if _status(error) == 404 and _message(error) == "Branch not protected":
            return None
        if _status(error) == 404 and _message(error) == "Branch not found":
            raise BranchNotFound(repository.full_name, branch) from None
        if _status(error) == 403:
            raise NotPermitted("GET", _expand(path, variables), _message(error)) from None
        raise
    return data


async def ruleset_requiring(
    client: GitHubClient,
    installation: Installation,
    repository: Repository,
    branch: str,
    wanted: Sequence[RequiredCheck],
) -> str | None:
    """The name of an active ruleset that already requires every wanted check from the same
    source, if there is one (reading rules needs only the Metadata permission)."""
    owner, repo = repository.full_name.split("/", 1)
    variables = {"owner": owner, "repo": repo, "branch": branch}
    try:
        rules = await client.request(
            "GET", "/repos/{owner}/{repo}/rules/branches/{branch}", installation.id, variables
        )
    except BadRequest:
        return None  # only a shortcut: without it the protection path still decides
    for rule in rules:
        if rule.get("type") != "required_status_checks":
            continue
        parameters = rule.get("parameters") or {}
        have = {
            (str(item.get("context")), item.get("integration_id"))
            for item in parameters.get("required_status_checks") or []
        }
        if all((check.context, check.app_id) in have for check in wanted):
            ruleset_id = rule.get("ruleset_id")
            try:
                ruleset = await client.request(
                    "GET",
                    "/repos/{owner}/{repo}/rulesets/{ruleset_id}",
                    installation.id,
                    {"owner": owner, "repo": repo, "ruleset_id": ruleset_id},
                )
            except BadRequest:
                return f"#{ruleset_id}"  # an organisation's ruleset, say: named by its id
            return str(ruleset.get("name") or f"#{ruleset_id}")
    return None


def _expand(path: str, variables: Mapping[str, Any]) -> str:
    for key, value in variables.items():
        path = path.replace("{" + key + "}", str(value))
    return path


def merged_checks(
    existing: Sequence[RequiredCheck], ours: Sequence[RequiredCheck]
) -> tuple[RequiredCheck, ...]:
    """The existing requirements with ours added; a check of the same name is taken over
    (pinned to our app), every other one is kept as it was."""
    names = {check.context for check in ours}
    return tuple(check for check in existing if check.context not in names) + tuple(ours)


async def require_checks(
    client: GitHubClient,
    installation: Installation,
    repository: Repository,
    branch: str,
    ours: Sequence[RequiredCheck],
) -> Outcome:
    """Make `branch` require `ours`, keeping the rest of its protection."""
    owner, repo = repository.full_name.split("/", 1)
    variables = {"owner": owner, "repo": repo, "branch": branch}
    current = await read_protection(client, installation, repository, branch)
    wanted = tuple(ours)
    if current is None:
        action = "created"
        method, path = "PUT", "/repos/{owner}/{repo}/branches/{branch}/protection"
        section: dict[str, Any] = {"strict": False, "checks": [c.payload() for c in wanted]}
        body: dict[str, Any] = put_body({}, section)
        body["enforce_admins"] = None
    elif current.get("required_status_checks") is None:
        action = "updated"
        method, path = "PUT", "/repos/{owner}/{repo}/branches/{branch}/protection"
        section = {"strict": False, "checks": [c.payload() for c in wanted]}
        body = put_body(current, section)
    else:
        existing = checks_of(current["required_status_checks"])
        strict = bool(current["required_status_checks"].get("strict", False))
        if all(check in existing for check in wanted):
            return Outcome(branch, "unchanged", existing, wanted, strict)
        action = "updated"
        method, path = "PATCH", "/repos/{owner}/{repo}/branches/{branch}/protection"
        path += "/required_status_checks"
        body = {"checks": [c.payload() for c in merged_checks(existing, wanted)]}
    try:
        answer = await client.request(method, path, installation.id, variables, data=body)
    except BadRequest as error:
        if _status(error) == 403:
            raise NotPermitted(method, _expand(path, variables), _message(error)) from None
        raise
    section = answer if method == "PATCH" else answer.get("required_status_checks") or {}
    return Outcome(
        branch=branch,
        action=action,
        required=checks_of(section),
        ours=wanted,
        strict=bool(section.get("strict", False)),
    )
