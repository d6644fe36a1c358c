"""Answering a comment without writing one: a reaction (`POST /repos/{owner}/{repo}/issues/
comments/{comment_id}/reactions`). It needs Pull requests write on a pull request's comment
(or Issues write); without it GitHub answers 403 and the answer is only logged.

A reaction, not a reply: it notifies no one, and the same one again changes nothing (GitHub
answers 200), so repeating a refused command cannot make Conveyor fill the conversation.
"""

from __future__ import annotations

from gidgethub import BadRequest

from app.github.client import GitHubClient

REFUSED = "-1"  # the command is not one this person may give
UNSURE = "confused"  # the command could not be acted on (GitHub could not say, or it is moot)


async def react(
    gh: GitHubClient, repo_full_name: str, installation_id: int, comment_id: int, content: str
) -> bool:
    """React to the comment; False when the app may not (403: the permission is missing)."""
    owner, repo = repo_full_name.split("/", 1)
    try:
        await gh.request(
            "POST",
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            installation_id,
            {"owner": owner, "repo": repo, "comment_id": comment_id},
            data={"content": content},
        )
    except BadRequest as error:
        if int(error.status_code) == 403:
            return False
        raise
    return True
