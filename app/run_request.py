"""A request to run the checks on one commit: what the GitHub side asks of the queue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunRequest:
    """Run the checks on one commit of one repository."""

    repo_full_name: str
    repo_id: int
    installation_id: int
    clone_url: str
    head_sha: str
    # What to fetch to get the commit: the branch, or the base repository's refs/pull/N/head.
    fetch_ref: str
    # Runs in the same lane supersede each other: a pull request from a fork, or a branch.
    lane: str
    reason: str
    head_branch: str | None = None
    pull_number: int | None = None
    from_fork: bool = False
    # Set when a person asked to run it again (check_suite/check_run rerequested, an action).
    rerun: bool = False
    # The check run's external_id (the id of the job it reported), when one of our runs is
    # re-run: ties it to the old job (a job's own `rerun_of` is that job's id).
    rerun_external_id: str | None = None
    requested_action: str | None = None
    commit_message: str | None = None
    # False when the event only announces a commit (check_suite requested, which may arrive
    # after newer pushes); True when the branch or pull request now points at it.
    moves_head: bool = True
    # The branch whose last run this one is compared with: the pull request's base, else the
    # repository's default branch.
    base_branch: str | None = None
    # The repository's web address, for links to files and lines in the summary.
    html_url: str | None = None
    # Only these tests (pytest node ids): "Re-run failed". Empty: all of them.
    only_tests: tuple[str, ...] = ()
    # Whether GitHub says the repository is private; None: not known (runs stored by an older
    # version). Only a repository known to be public has its history and badges shown to all.
    private: bool | None = None
    # Who wrote the commit, as the event names them (a push: their login; a check suite: their
    # name); None when the event does not say (a pull request's events).
    author: str | None = None
