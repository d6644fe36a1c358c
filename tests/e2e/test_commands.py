"""`/conveyor run` comments through the real service: who may give them is what GitHub's
permission API says when the comment's author_association does not (a member whose membership
of the organisation is private shows as CONTRIBUTOR), and a command that is not acted on is
answered with a reaction instead of being ignored in silence.

Who may command is GitHub's answer, not the database's: SQLite only (the queue a command adds to
is tested on both in tests/test_intake.py and test_reports.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from app.localgithub import IssueComment
from tests.e2e.harness import PASSING, Harness

DATABASES = ("sqlite",)


async def until(
    what: str, check: Callable[[], bool], harness: Harness, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{harness.logs()[-6000:]}")
        await asyncio.sleep(0.05)


def permission_asked(harness: Harness, login: str) -> bool:
    path = f"/repos/{harness.repo.full_name}/collaborators/{login}/permission"
    return any(call.path == path for call in harness.github.calls)


def refused_by_reaction(harness: Harness, comment: IssueComment) -> Callable[[], bool]:
    return lambda: harness.github.reactions(comment) == [("-1", "conveyor[bot]")]


async def test_a_writer_shown_as_contributor_runs_checks_and_others_are_answered(
    harness: Harness,
) -> None:
    github = harness.github
    harness.commit(PASSING, "tests")
    await harness.push("main")
    harness.branch("feature")
    harness.commit({"notes.txt": "more\n"}, "a feature")
    await harness.push("feature")
    pull = await harness.pull_request("feature")
    sha = pull.head_sha
    await harness.completed(sha)

    # A private member of the organisation with write access: GitHub says CONTRIBUTOR.
    github.add_collaborator(harness.repo, "quiet-member", "write")
    asked = await github.comment(
        pull, "/conveyor run", author="quiet-member", author_association="CONTRIBUTOR"
    )
    runs = await harness.completed(sha, count=2)
    assert len(runs) == 2
    assert permission_asked(harness, "quiet-member")
    assert github.reactions(asked) == []  # acted on: the new check run is the answer

    # Someone who may only triage, and someone who is no collaborator at all (GitHub: 404).
    github.add_collaborator(harness.repo, "triager", "triage")
    refused: list[IssueComment] = []
    for login, association in (("triager", "CONTRIBUTOR"), ("drive-by", "NONE")):
        refused.append(
            await github.comment(
                pull, "/conveyor run", author=login, author_association=association
            )
        )
    for comment in refused:
        await until(
            f"the answer to {comment.author}'s command",
            refused_by_reaction(harness, comment),
            harness,
        )
    # The answer comes once the command was decided on: nothing more was started.
    assert len(harness.runs(sha)) == 2
    assert all(run.status == "completed" for run in harness.runs(sha))

    # A command on a closed pull request, even from a member, has nothing to run: 😕.
    await github.close_pull_request(pull)
    moot = await github.comment(pull, "/conveyor run", author_association="MEMBER")
    await until(
        "the answer to the command on a closed pull request",
        lambda: github.reactions(moot) == [("confused", "conveyor[bot]")],
        harness,
    )
    assert len(harness.runs(sha)) == 2

    log = harness.service.log()
    assert "drive-by (NONE) may not write to the repository" in log
    assert "triager (CONTRIBUTOR) may not write to the repository" in log
    assert "Traceback" not in log
