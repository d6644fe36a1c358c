"""Every webhook example GitHub publishes for the events Conveyor handles, through Conveyor's
event parsing (app/github/events.py, and the account names ALLOWED_OWNERS reads): each one
gives the decision it should, or a clean "nothing to do", never an exception.

The examples are those of `@octokit/webhooks-examples` and the `x-webhooks` of
`@octokit/openapi`, kept in tests/github/spec/github_spec.json (see extract.py there).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from gidgethub import sansio

from app.github.events import ZERO_SHA, installation_id, router
from app.github.installations import named_accounts
from tests.github.spec.published import spec, webhook_examples
from tests.github.test_events import Recorder

EXAMPLES = webhook_examples()
IDS = [f"{event}-{index}-{example.get('action', '')}" for event, index, example in EXAMPLES]
# An app id no example names: a check suite or run of another app.
STRANGER = "999999999"


def ours(data: dict[str, Any]) -> str:
    """The app the example's check suite or run belongs to (so that Conveyor acts on it)."""
    for key in ("check_suite", "check_run"):
        if key in data:
            return str((data[key].get("app") or {}).get("id"))
    return STRANGER


async def dispatch(event: str, data: dict[str, Any], app_id: str) -> Recorder:
    sink = Recorder(app_id)
    await router.dispatch(sansio.Event(data, event=event, delivery_id="d-1"), sink)
    return sink


def expected_runs(event: str, data: dict[str, Any]) -> list[str]:
    """The head commits Conveyor should test for this example, as GitHub documents them."""
    action = data.get("action")
    if event == "push":
        ref, after = data["ref"], data["after"]
        if data.get("deleted") or after == ZERO_SHA or not ref.startswith("refs/heads/"):
            return []
        return [after]
    if event == "pull_request" and action in ("opened", "synchronize", "reopened"):
        return [data["pull_request"]["head"]["sha"]]
    if event == "check_suite" and action in ("requested", "rerequested"):
        return [data["check_suite"]["head_sha"]]
    if event == "check_run" and action in ("rerequested", "requested_action"):
        return [data["check_run"]["head_sha"]]
    return []


def test_the_spec_names_its_sources_and_has_examples_of_each_event() -> None:
    source = spec()["source"]
    assert source["openapi"].startswith("@octokit/openapi@")
    assert source["webhooks_examples"].startswith("@octokit/webhooks-examples@")
    assert all(
        spec()["webhooks"][event]
        for event in (
            "push",
            "pull_request",
            "check_suite",
            "check_run",
            "issue_comment",
            "installation",
            "installation_repositories",
        )
    )


@pytest.mark.parametrize(("event", "index", "example"), EXAMPLES, ids=IDS)
async def test_each_published_example_gives_its_decision(
    event: str, index: int, example: dict[str, Any]
) -> None:
    data = copy.deepcopy(example)
    event_obj = sansio.Event(data, event=event, delivery_id="d-1")
    # What ALLOWED_OWNERS reads of any delivery, whatever the event.
    named_accounts(data)
    if installation_id(event_obj) is None:
        # A repository or organisation webhook's example: web.py answers such a delivery 400
        # ("not a GitHub App delivery") before anything reads it. Its payload is parsed all
        # the same, as an app would get it (the installation's id added).
        data["installation"] = {"id": 1, "node_id": "MDIz"}
    sink = await dispatch(event, data, ours(data))
    assert [run.head_sha for run in sink.runs] == expected_runs(event, data)
    for run in sink.runs:
        assert run.repo_full_name == data["repository"]["full_name"]
        assert run.installation_id == data["installation"]["id"]
    if event in ("installation", "installation_repositories"):
        [change] = sink.installations
        assert change.installation_id == data["installation"]["id"]
        assert change.account == data["installation"]["account"]["login"]
        assert change.action == f"{event}.{data['action']}"
    else:
        assert sink.installations == []
    assert sink.commands == []  # no example says /conveyor run


@pytest.mark.parametrize(
    ("event", "index", "example"),
    [item for item in EXAMPLES if item[0] in ("check_suite", "check_run")],
    ids=[
        i for i, item in zip(IDS, EXAMPLES, strict=True) if item[0] in ("check_suite", "check_run")
    ],
)
async def test_another_apps_check_suites_and_runs_are_ignored(
    event: str, index: int, example: dict[str, Any]
) -> None:
    sink = await dispatch(event, copy.deepcopy(example), STRANGER)
    assert sink.runs == []


COMMENTS = [item for item in EXAMPLES if item[0] == "issue_comment"]


@pytest.mark.parametrize(
    ("event", "index", "example"),
    COMMENTS,
    ids=[i for i, item in zip(IDS, EXAMPLES, strict=True) if item[0] == "issue_comment"],
)
async def test_each_published_comment_saying_conveyor_run_is_a_command_on_a_pull_request(
    event: str, index: int, example: dict[str, Any]
) -> None:
    """The examples' comments are on issues and say other things: said on a pull request
    (where `issue.pull_request` is set), `/conveyor run` is a command if the comment was
    just created, and who wrote it is passed on as GitHub names them."""
    data = copy.deepcopy(example)
    data["comment"]["body"] = "Looks flaky.\n/conveyor run failed\n"
    data.setdefault("installation", {"id": 1})
    data["issue"]["pull_request"] = {"url": data["issue"]["url"]}
    sink = await dispatch(event, data, STRANGER)
    if data["action"] != "created":
        assert sink.commands == []
        return
    [command] = sink.commands
    assert command.failed_only
    assert command.pull_number == data["issue"]["number"]
    assert command.author == data["comment"]["user"]["login"]
    assert command.comment_id == data["comment"]["id"]
    assert command.author_association == data["comment"]["author_association"]
    # The same on a plain issue: nothing.
    del data["issue"]["pull_request"]
    assert (await dispatch(event, data, STRANGER)).commands == []


INSTALLATIONS = [item for item in EXAMPLES if item[0].startswith("installation")]


@pytest.mark.parametrize(
    ("event", "index", "example"),
    INSTALLATIONS,
    ids=[i for i, item in zip(IDS, EXAMPLES, strict=True) if item[0].startswith("installation")],
)
async def test_an_installation_whose_account_is_null_is_still_acted_on(
    event: str, index: int, example: dict[str, Any]
) -> None:
    """GitHub's schema of these events makes `installation.account` nullable (an account
    GitHub deleted, or an enterprise installation): the change is passed on, its account
    unknown (""), rather than failing on it (which left an uninstall unacted on)."""
    data = copy.deepcopy(example)
    data["installation"]["account"] = None
    sink = await dispatch(event, data, STRANGER)
    [change] = sink.installations
    assert change.installation_id == data["installation"]["id"]
    assert change.account == ""
    assert change.action == f"{event}.{data['action']}"
    assert named_accounts(data).installation is None


@pytest.mark.parametrize(
    ("event", "index", "example"),
    INSTALLATIONS,
    ids=[i for i, item in zip(IDS, EXAMPLES, strict=True) if item[0].startswith("installation")],
)
async def test_a_listed_repository_without_its_full_name_is_left_out_not_the_event(
    event: str, index: int, example: dict[str, Any]
) -> None:
    """The schema of `repositories_removed` (and its like) does not require `full_name`."""
    data = copy.deepcopy(example)
    lists = [
        key
        for key in ("repositories", "repositories_added", "repositories_removed")
        if data.get(key)
    ]
    for key in lists:
        data[key] = [{"id": 1}, *data[key]]
    [change] = (await dispatch(event, data, STRANGER)).installations
    named = (*change.repositories_added, *change.repositories_removed)
    assert named == tuple(repo["full_name"] for key in lists for repo in example[key])
