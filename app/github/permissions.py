"""Whether someone may write to a repository, as GitHub's permission API says it.

A comment's `author_association` cannot say it alone: a member whose membership of the
organisation is private shows as CONTRIBUTOR there. `GET /repos/{owner}/{repo}/collaborators/
{username}/permission` needs only the Metadata permission (read), which every app has; it
answers 404 for someone who is not a collaborator.
"""

from __future__ import annotations

from gidgethub import BadRequest

from app.github.client import GitHubClient

# `permission` is the legacy base role (maintain shows as write); `role_name` the role itself.
WRITERS = frozenset({"admin", "maintain", "write"})


async def may_write(
    gh: GitHubClient, repo_full_name: str, installation_id: int, login: str
) -> bool:
    """True when `login` may push to the repository; False when GitHub says no (or that they
    are no collaborator). GitHub's other failures are raised."""
    owner, repo = repo_full_name.split("/", 1)
    try:
        data = await gh.request(
            "GET",
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            installation_id,
            {"owner": owner, "repo": repo, "username": login},
        )
    except BadRequest as error:
        if int(error.status_code) == 404:
            return False
        raise
    if not isinstance(data, dict):
        return False
    return data.get("permission") in WRITERS or data.get("role_name") in WRITERS
