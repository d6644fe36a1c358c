"""app/run_request.py: a request to run the checks on one commit is a plain, unchangeable value.

Which request each webhook makes is tested in tests/github/test_events.py; here, what the rest
of the service relies on once one is made: what it asks for unless told otherwise, that it
cannot change under the queue, and that a re-run is a changed copy of it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from app.github.events import pull_request_run
from app.run_request import RunRequest

PAYLOADS = Path(__file__).resolve().parents[1] / "app" / "localgithub" / "payloads"


def pull_request() -> dict[str, Any]:
    """The pull request of GitHub's example `pull_request.opened` delivery."""
    data = json.loads((PAYLOADS / "pull_request.opened.json").read_text())
    pull: dict[str, Any] = data["pull_request"]
    return pull


def test_a_request_asks_for_a_full_first_run_of_a_head_unless_told_otherwise() -> None:
    request = RunRequest(
        repo_full_name="octo/hello",
        repo_id=1,
        installation_id=2,
        clone_url="https://github.com/octo/hello.git",
        head_sha="a" * 40,
        fetch_ref="refs/heads/main",
        lane="1:branch:main",
        reason="push",
    )
    assert request.only_tests == ()  # every test
    assert request.moves_head is True
    assert (request.rerun, request.rerun_external_id, request.requested_action) == (
        False,
        None,
        None,
    )
    assert (request.pull_number, request.from_fork, request.head_branch) == (None, False, None)
    assert (request.base_branch, request.html_url, request.commit_message) == (None, None, None)


def test_a_request_cannot_change_once_made() -> None:
    request = pull_request_run(pull_request(), 1, "pull_request.opened")
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.head_sha = "b" * 40  # type: ignore[misc]
    assert request.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def test_the_same_delivery_makes_equal_requests() -> None:
    first = pull_request_run(pull_request(), 1, "pull_request.opened")
    again = pull_request_run(pull_request(), 1, "pull_request.opened")
    assert first == again
    assert len({first, again}) == 1
    assert first != pull_request_run(pull_request(), 1, "pull_request.synchronize")


def test_re_running_the_failed_tests_is_a_changed_copy() -> None:
    """What intake does for "Re-run failed": the pull request's request, narrowed."""
    original = pull_request_run(pull_request(), 1, "comment")
    narrowed = dataclasses.replace(
        original, rerun=True, only_tests=("tests/test_a.py::test_one", "tests/test_b.py::test_two")
    )
    assert narrowed.only_tests == ("tests/test_a.py::test_one", "tests/test_b.py::test_two")
    assert narrowed.rerun is True
    assert (original.rerun, original.only_tests) == (False, ())
    unchanged = {"rerun", "only_tests"}
    assert {
        field.name: getattr(narrowed, field.name)
        for field in dataclasses.fields(RunRequest)
        if field.name not in unchanged
    } == {
        field.name: getattr(original, field.name)
        for field in dataclasses.fields(RunRequest)
        if field.name not in unchanged
    }
