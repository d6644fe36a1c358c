"""Webhook events → what Conveyor should do, through gidgethub's Router.

Handlers only read the payload and tell a `Sink` what was asked for: run the checks on a commit,
or record an installation. What a run is and how it happens is decided elsewhere, so every event
and action can be tested by feeding real payloads to the router.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from gidgethub import routing, sansio

from app.run_request import RunRequest

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class InstallationChange:
    installation_id: int
    account: str
    action: str
    repositories_added: tuple[str, ...] = ()
    repositories_removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommentCommand:
    """`/conveyor run` or `/conveyor run failed`, commented on a pull request."""

    repo_full_name: str
    repo_id: int
    installation_id: int
    pull_number: int
    failed_only: bool
    author: str
    # GitHub's word for who the author is to the repository (OWNER, MEMBER, COLLABORATOR...).
    # A member whose membership of the organisation is private shows as CONTRIBUTOR.
    author_association: str
    comment_id: int  # the comment, for answering it (a reaction)


COMMAND = re.compile(r"^\s*/conveyor\s+run(?:\s+(failed))?\s*$", re.IGNORECASE | re.MULTILINE)


class Sink(Protocol):
    app_id: str

    async def run_requested(self, request: RunRequest) -> None: ...

    async def installation_changed(self, change: InstallationChange) -> None: ...

    async def comment_command(self, command: CommentCommand) -> None: ...


router = routing.Router()


def installation_id(event: sansio.Event) -> int | None:
    installation = event.data.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return int(installation["id"])
    return None


def _repo(data: dict[str, Any]) -> dict[str, Any]:
    repo = data["repository"]
    assert isinstance(repo, dict)
    return repo


def _author(commit: dict[str, Any]) -> str | None:
    """The commit's author: their GitHub login when the event gives it, else their name."""
    author = commit.get("author") or {}
    found = author.get("username") or author.get("name") if isinstance(author, dict) else None
    return found if isinstance(found, str) and found else None


def _private(repo: dict[str, Any]) -> bool | None:
    private = repo.get("private")
    return private if isinstance(private, bool) else None


def _branch_lane(repo: dict[str, Any], branch: str) -> str:
    return f"{repo['id']}:branch:{branch}"


def _request(event: sansio.Event, **fields: Any) -> RunRequest:
    repo = _repo(event.data)
    iid = installation_id(event)
    assert iid is not None  # web.py refuses app deliveries without one
    fields.setdefault("base_branch", repo.get("default_branch"))
    return RunRequest(
        repo_full_name=repo["full_name"],
        repo_id=int(repo["id"]),
        installation_id=iid,
        clone_url=repo["clone_url"],
        html_url=repo.get("html_url"),
        private=_private(repo),
        **fields,
    )


def pull_request_run(pr: dict[str, Any], installation: int, reason: str) -> RunRequest:
    """A run of a pull request's head: from a webhook or from the REST API (same object)."""
    base_repo, head = pr["base"]["repo"], pr["head"]
    head_repo = head.get("repo")  # None when the fork was deleted
    from_fork = head_repo is None or head_repo["id"] != base_repo["id"]
    number = int(pr["number"])
    return RunRequest(
        repo_full_name=base_repo["full_name"],
        repo_id=int(base_repo["id"]),
        installation_id=installation,
        clone_url=base_repo["clone_url"],
        html_url=base_repo.get("html_url"),
        private=_private(base_repo),
        head_sha=head["sha"],
        # A fork's commits are fetched from the base repository, where GitHub keeps them.
        fetch_ref=f"refs/pull/{number}/head" if from_fork else f"refs/heads/{head['ref']}",
        lane=(
            f"{base_repo['id']}:pull:{number}"
            if from_fork
            else _branch_lane(base_repo, head["ref"])
        ),
        reason=reason,
        head_branch=head["ref"],
        pull_number=number,
        from_fork=from_fork,
        base_branch=pr["base"]["ref"],
    )


async def _pull_request(event: sansio.Event, sink: Sink) -> None:
    iid = installation_id(event)
    assert iid is not None  # web.py refuses app deliveries without one
    await sink.run_requested(
        pull_request_run(event.data["pull_request"], iid, f"pull_request.{event.data['action']}")
    )


for _action in ("opened", "synchronize", "reopened"):
    router.add(_pull_request, "pull_request", action=_action)


@router.register("push")
async def _push(event: sansio.Event, sink: Sink) -> None:
    ref, after = event.data.get("ref", ""), event.data.get("after", ZERO_SHA)
    if event.data.get("deleted") or after == ZERO_SHA or not ref.startswith("refs/heads/"):
        return  # a deleted branch or a tag: nothing to test
    branch = ref.removeprefix("refs/heads/")
    head_commit = event.data.get("head_commit") or {}
    await sink.run_requested(
        _request(
            event,
            head_sha=after,
            fetch_ref=ref,
            lane=_branch_lane(_repo(event.data), branch),
            reason="push",
            head_branch=branch,
            commit_message=head_commit.get("message"),
            author=_author(head_commit),
        )
    )


def _ours(checks_object: dict[str, Any], sink: Sink) -> bool:
    return str((checks_object.get("app") or {}).get("id")) == sink.app_id


def _from_checks(
    event: sansio.Event, head_sha: str, branch: str | None, pulls: list[dict[str, Any]], **more: Any
) -> RunRequest:
    """A request from a check_suite or check_run event: the branch if GitHub names one."""
    repo = _repo(event.data)
    return _request(
        event,
        head_sha=head_sha,
        fetch_ref=f"refs/heads/{branch}" if branch else head_sha,
        lane=_branch_lane(repo, branch) if branch else f"{repo['id']}:sha:{head_sha}",
        reason=f"{event.event}.{event.data['action']}",
        head_branch=branch,
        pull_number=int(pulls[0]["number"]) if pulls else None,
        **more,
    )


async def _check_suite(event: sansio.Event, sink: Sink) -> None:
    suite = event.data["check_suite"]
    if not _ours(suite, sink):
        return  # another app's suite
    await sink.run_requested(
        _from_checks(
            event,
            suite["head_sha"],
            suite.get("head_branch"),
            suite.get("pull_requests") or [],
            rerun=event.data["action"] == "rerequested",
            commit_message=(suite.get("head_commit") or {}).get("message"),
            author=_author(suite.get("head_commit") or {}),
            moves_head=False,
        )
    )


router.add(_check_suite, "check_suite", action="requested")
router.add(_check_suite, "check_suite", action="rerequested")


async def _check_run(event: sansio.Event, sink: Sink) -> None:
    run = event.data["check_run"]
    if not _ours(run, sink):
        return
    await sink.run_requested(
        _from_checks(
            event,
            run["head_sha"],
            (run.get("check_suite") or {}).get("head_branch"),
            run.get("pull_requests") or [],
            rerun=True,
            rerun_external_id=run.get("external_id") or None,
            requested_action=(event.data.get("requested_action") or {}).get("identifier"),
        )
    )


# `created` and `completed` also reach us for our own runs: acting on them would loop.
router.add(_check_run, "check_run", action="rerequested")
router.add(_check_run, "check_run", action="requested_action")


def _full_names(repositories: Any) -> tuple[str, ...]:
    """The names of the listed repositories. GitHub's schema does not require `full_name` of
    each (of `repositories_removed`): one without it is left out, not the whole event."""
    return tuple(
        repo["full_name"]
        for repo in repositories or ()
        if isinstance(repo, dict) and isinstance(repo.get("full_name"), str)
    )


async def _installation(event: sansio.Event, sink: Sink) -> None:
    installation = event.data["installation"]
    data = event.data
    if event.event == "installation":
        repos = _full_names(data.get("repositories"))
        gone = data.get("action") == "deleted"
        added, removed = ((), repos) if gone else (repos, ())
    else:
        added = _full_names(data.get("repositories_added"))
        removed = _full_names(data.get("repositories_removed"))
    await sink.installation_changed(
        InstallationChange(
            installation_id=int(installation["id"]),
            # GitHub's schema lets `account` be null (e.g. an account since deleted): the
            # change still stands, its account unknown ("": the store keeps the one it knew).
            account=str((installation.get("account") or {}).get("login") or ""),
            action=f"{event.event}.{data.get('action')}",
            repositories_added=added,
            repositories_removed=removed,
        )
    )


router.add(_installation, "installation")
router.add(_installation, "installation_repositories")


@router.register("issue_comment", action="created")
async def _issue_comment(event: sansio.Event, sink: Sink) -> None:
    issue = event.data.get("issue") or {}
    if not issue.get("pull_request"):
        return  # a comment on an issue, not on a pull request
    found = COMMAND.search((event.data.get("comment") or {}).get("body") or "")
    if found is None:
        return
    comment, repo = event.data["comment"], _repo(event.data)
    iid = installation_id(event)
    assert iid is not None
    await sink.comment_command(
        CommentCommand(
            repo_full_name=repo["full_name"],
            repo_id=int(repo["id"]),
            installation_id=iid,
            pull_number=int(issue["number"]),
            failed_only=found.group(1) is not None,
            author=(comment.get("user") or {}).get("login", ""),
            author_association=comment.get("author_association", "NONE"),
            comment_id=int(comment.get("id") or 0),
        )
    )
