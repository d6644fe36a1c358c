"""app/github/events.py: every example payload through the real router, and what it asks for."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from gidgethub import sansio

from app.github.events import CommentCommand, InstallationChange, installation_id, router
from app.run_request import RunRequest

PAYLOADS = Path(__file__).resolve().parents[2] / "app" / "localgithub" / "payloads"
ALL_PAYLOADS = sorted(p.name for p in PAYLOADS.glob("*.json"))


def hello(**fields: Any) -> RunRequest:
    """A request for Codertocat/Hello-World, the repository of most examples."""
    return RunRequest(
        repo_full_name="Codertocat/Hello-World",
        repo_id=186853002,
        clone_url="https://github.com/Codertocat/Hello-World.git",
        **fields,
    )


PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


class Recorder:
    """A Sink that records what the router asked for."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.runs: list[RunRequest] = []
        self.installations: list[InstallationChange] = []
        self.commands: list[CommentCommand] = []

    async def run_requested(self, request: RunRequest) -> None:
        self.runs.append(request)

    async def installation_changed(self, change: InstallationChange) -> None:
        self.installations.append(change)

    async def comment_command(self, command: CommentCommand) -> None:
        self.commands.append(command)


def load(name: str) -> dict[str, Any]:
    data = json.loads((PAYLOADS / name).read_text())
    assert isinstance(data, dict)
    return data


def event_name(file_name: str) -> str:
    return file_name.split(".", 1)[0]


def payload_app_id(data: dict[str, Any]) -> str:
    """The app the payload is addressed to: the app of its check suite or run, if any."""
    for key in ("check_suite", "check_run"):
        if key in data:
            return str(data[key]["app"]["id"])
    return "1"


async def dispatch(event: str, data: dict[str, Any], app_id: str | None = None) -> Recorder:
    sink = Recorder(payload_app_id(data) if app_id is None else app_id)
    await router.dispatch(sansio.Event(data, event=event, delivery_id="d-1"), sink)
    return sink


Expected = list[RunRequest] | list[InstallationChange]

EXPECTED: dict[str, Expected] = {
    "ping.json": [],
    "push.json": [],  # a tag deletion, without installation
    "push.with-installation.json": [],  # a tag deletion
    "push.with-new-branch.json": [
        hello(
            installation_id=1,
            head_sha="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            fetch_ref="refs/heads/master",
            lane="186853002:branch:master",
            reason="push",
            head_branch="master",
            commit_message="Initial commit",
            author="Codertocat",  # the login
        )
    ],
    "pull_request.closed.json": [],
    **{
        f"pull_request.{action}.json": [
            hello(
                installation_id=1,
                head_sha=PR_HEAD,
                fetch_ref="refs/heads/changes",
                lane="186853002:branch:changes",
                reason=f"pull_request.{action}",
                head_branch="changes",
                pull_number=2,
                from_fork=False,
            )
        ]
        for action in ("opened", "synchronize", "reopened")
    },
    "check_suite.requested.json": [
        hello(
            installation_id=957387,
            head_sha="f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
            fetch_ref="refs/heads/master",
            lane="186853002:branch:master",
            reason="check_suite.requested",
            head_branch="master",
            pull_number=None,
            rerun=False,
            commit_message="Add new gemfile",
            author="Codertocat",  # the name: a check suite's commit has no login
            moves_head=False,
        )
    ],
    "check_suite.rerequested.json": [
        hello(
            installation_id=957387,
            head_sha=PR_HEAD,
            fetch_ref="refs/heads/changes",
            lane="186853002:branch:changes",
            reason="check_suite.rerequested",
            head_branch="changes",
            pull_number=2,
            rerun=True,
            commit_message="Update README.md",
            author="Codertocat",
            moves_head=False,
        )
    ],
    "check_suite.completed.json": [],
    # A comment on an issue, not on a pull request, and no command in it.
    "issue_comment.created.json": [],
    "check_run.created.json": [],
    "check_run.completed.json": [],
    "check_run.rerequested.json": [
        RunRequest(
            repo_full_name="github/hello-world",
            repo_id=526,
            installation_id=1,
            clone_url="http://github.com/github/hello-world.git",
            head_sha="d6fde92930d4715a2b49857d24b940956b26d2d3",
            fetch_ref="refs/heads/master",
            lane="526:branch:master",
            reason="check_run.rerequested",
            head_branch="master",
            pull_number=None,
            rerun=True,
            rerun_external_id=None,
            requested_action=None,
        )
    ],
    "check_run.requested_action.json": [
        RunRequest(
            repo_full_name="electron/electron",
            repo_id=9384267,
            installation_id=690857,
            clone_url="https://github.com/electron/electron.git",
            head_sha="5bd5f196a46b8222fb7484f05faba41a73cf34bd",
            fetch_ref="refs/heads/miniak/event-process-id",
            lane="9384267:branch:miniak/event-process-id",
            reason="check_run.requested_action",
            head_branch="miniak/event-process-id",
            pull_number=26764,
            rerun=True,
            rerun_external_id=None,
            requested_action="lgtm|26764",
        )
    ],
    "installation.created.json": [
        InstallationChange(
            installation_id=957387,
            account="Codertocat",
            action="installation.created",
            repositories_added=("Codertocat/Hello-World",),
        )
    ],
    "installation_repositories.added.json": [
        InstallationChange(
            installation_id=957387,
            account="Codertocat",
            action="installation_repositories.added",
            repositories_added=("Codertocat/Space",),
        )
    ],
    "installation_repositories.removed.json": [
        InstallationChange(
            installation_id=2,
            account="octocat",
            action="installation_repositories.removed",
            repositories_removed=("octocat/Hello-World",),
        )
    ],
}
# Checked on its own below: what a deletion should say about repositories is a judgement call.
SPECIAL = {"installation.deleted.json"}


def test_every_example_payload_is_covered() -> None:
    assert len(ALL_PAYLOADS) == 20
    assert set(ALL_PAYLOADS) == set(EXPECTED) | SPECIAL


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_example_payload_produces_exactly_what_it_asks_for(name: str) -> None:
    data = load(name)
    sink = await dispatch(event_name(name), data)
    expected = EXPECTED[name]
    repo = data.get("repository", {})
    # Every request carries the repository's web address, and the branch it is compared with:
    # the pull request's base, else the default branch.
    base = (data.get("pull_request") or {}).get("base", {}).get("ref") or repo.get("default_branch")
    runs = [
        replace(e, html_url=repo["html_url"], base_branch=base, private=repo["private"])
        for e in expected
        if isinstance(e, RunRequest)
    ]
    changes = [e for e in expected if isinstance(e, InstallationChange)]
    assert sink.runs == runs
    assert sink.installations == changes


async def test_installation_deleted_names_the_installation_and_its_repositories() -> None:
    sink = await dispatch("installation", load("installation.deleted.json"))
    assert sink.runs == []
    [change] = sink.installations
    assert (change.installation_id, change.account, change.action) == (
        2,
        "octocat",
        "installation.deleted",
    )
    assert {*change.repositories_added, *change.repositories_removed} == {"octocat/Hello-World"}


async def test_dispatching_twice_gives_the_same_answer() -> None:
    data = load("pull_request.opened.json")
    first = await dispatch("pull_request", data)
    second = await dispatch("pull_request", data)
    assert first.runs == second.runs
    assert len(first.runs) == 1


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("check_suite.requested.json", "check_suite"),
        ("check_suite.rerequested.json", "check_suite"),
        ("check_run.rerequested.json", "check_run"),
        ("check_run.requested_action.json", "check_run"),
    ],
)
async def test_another_apps_suite_or_run_is_ignored(name: str, key: str) -> None:
    data = load(name)
    ours = str(data[key]["app"]["id"])
    assert len((await dispatch(event_name(name), data, app_id=ours)).runs) == 1
    other = await dispatch(event_name(name), data, app_id=ours + "0")
    assert other.runs == []
    assert other.installations == []


@pytest.mark.parametrize("name", ["check_run.created.json", "check_run.completed.json"])
async def test_our_own_created_and_completed_runs_do_not_loop(name: str) -> None:
    data = load(name)
    data["installation"] = {"id": 1}
    sink = await dispatch("check_run", data, app_id=str(data["check_run"]["app"]["id"]))
    assert sink.runs == []


async def test_the_check_suite_completed_of_our_app_is_ignored() -> None:
    data = load("check_suite.completed.json")
    data["installation"] = {"id": 1}
    sink = await dispatch("check_suite", data, app_id=str(data["check_suite"]["app"]["id"]))
    assert sink.runs == []


async def test_a_rerequested_run_carries_its_external_id() -> None:
    data = load("check_run.rerequested.json")
    data["check_run"]["external_id"] = "314"
    [request] = (await dispatch("check_run", data)).runs
    assert request.rerun_external_id == "314"
    assert request.rerun is True


async def test_a_check_suite_without_branch_is_fetched_by_sha_in_a_sha_lane() -> None:
    data = load("check_suite.requested.json")
    data["check_suite"]["head_branch"] = None  # a fork's commit
    [request] = (await dispatch("check_suite", data)).runs
    sha = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    assert request.fetch_ref == sha
    assert request.lane == f"186853002:sha:{sha}"
    assert request.head_branch is None


async def test_a_push_to_a_branch_without_new_branch_flag_is_tested() -> None:
    data = load("push.with-new-branch.json")
    data["created"] = False
    data["before"] = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    data["after"] = "a" * 40
    data["ref"] = "refs/heads/feature/x"
    [request] = (await dispatch("push", data)).runs
    assert (request.head_sha, request.fetch_ref, request.lane, request.head_branch) == (
        "a" * 40,
        "refs/heads/feature/x",
        "186853002:branch:feature/x",
        "feature/x",
    )


async def test_a_branch_deletion_is_not_tested() -> None:
    data = load("push.with-new-branch.json")
    data.update(deleted=True, after="0" * 40, head_commit=None, commits=[])
    assert (await dispatch("push", data)).runs == []


async def test_a_tag_push_is_not_tested() -> None:
    data = load("push.with-new-branch.json")
    data["ref"] = "refs/tags/v1.0"
    assert (await dispatch("push", data)).runs == []


# -- pull requests from forks ------------------------------------------------------------------


def fork_pull_request(action: str = "opened") -> dict[str, Any]:
    data = copy.deepcopy(load(f"pull_request.{action}.json"))
    head = data["pull_request"]["head"]
    head["repo"] = copy.deepcopy(head["repo"])
    head["repo"].update(
        id=999_000_111,
        name="Hello-World",
        full_name="forker/Hello-World",
        fork=True,
        clone_url="https://github.com/forker/Hello-World.git",
    )
    head["label"] = "forker:changes"
    head["user"] = {"login": "forker", "id": 4242}
    assert head["repo"]["full_name"] != data["pull_request"]["base"]["repo"]["full_name"]
    return data


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened"])
async def test_a_fork_pull_request_is_fetched_from_the_base_repository(action: str) -> None:
    [request] = (await dispatch("pull_request", fork_pull_request(action))).runs
    # The base repository's name and URL: that is where the check run goes.
    assert request == hello(
        installation_id=1,
        head_sha=PR_HEAD,
        fetch_ref="refs/pull/2/head",
        lane="186853002:pull:2",
        reason=f"pull_request.{action}",
        head_branch="changes",
        pull_number=2,
        from_fork=True,
        base_branch="master",
        html_url="https://github.com/Codertocat/Hello-World",
        private=False,
    )


async def test_a_fork_lane_is_keyed_on_the_pull_number_not_the_branch() -> None:
    first = fork_pull_request()
    second = fork_pull_request()
    second["number"] = second["pull_request"]["number"] = 3
    [one] = (await dispatch("pull_request", first)).runs
    [two] = (await dispatch("pull_request", second)).runs
    assert one.head_branch == two.head_branch == "changes"
    assert (one.lane, two.lane) == ("186853002:pull:2", "186853002:pull:3")
    assert two.fetch_ref == "refs/pull/3/head"


async def test_a_pull_request_whose_fork_was_deleted_counts_as_a_fork() -> None:
    data = load("pull_request.synchronize.json")
    data["pull_request"]["head"]["repo"] = None
    [request] = (await dispatch("pull_request", data)).runs
    assert request.from_fork is True
    assert request.fetch_ref == "refs/pull/2/head"
    assert request.lane == "186853002:pull:2"


async def test_a_closed_fork_pull_request_is_not_tested() -> None:
    data = fork_pull_request()
    data["action"] = "closed"
    assert (await dispatch("pull_request", data)).runs == []


@pytest.mark.parametrize("action", ["edited", "labeled", "assigned", "review_requested"])
async def test_other_pull_request_actions_are_not_tested(action: str) -> None:
    data = load("pull_request.opened.json")
    data["action"] = action
    assert (await dispatch("pull_request", data)).runs == []


# -- helpers -----------------------------------------------------------------------------------


def test_installation_id_is_read_only_when_it_is_an_integer() -> None:
    def event(data: dict[str, Any]) -> sansio.Event:
        return sansio.Event(data, event="push", delivery_id="x")

    assert installation_id(event({"installation": {"id": 957387}})) == 957387
    assert installation_id(event({"installation": {"id": "957387"}})) is None
    assert installation_id(event({"installation": None})) is None
    assert installation_id(event({})) is None


def pull_request_comment(body: str, association: str = "MEMBER") -> dict[str, Any]:
    data = load("issue_comment.created.json")
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    data["comment"]["body"] = body
    data["comment"]["author_association"] = association
    data["installation"] = {"id": 7}
    return data


@pytest.mark.parametrize(
    ("body", "failed_only"),
    [
        ("/conveyor run", False),
        ("/conveyor run failed", True),
        ("Thanks!\n\n/conveyor   RUN  \n", False),
    ],
)
async def test_a_run_command_in_a_pull_request_comment_is_passed_on(
    body: str, failed_only: bool
) -> None:
    data = pull_request_comment(body)
    sink = await dispatch("issue_comment", data)
    [command] = sink.commands
    assert command == CommentCommand(
        repo_full_name=data["repository"]["full_name"],
        repo_id=data["repository"]["id"],
        installation_id=7,
        pull_number=data["issue"]["number"],
        failed_only=failed_only,
        author=data["comment"]["user"]["login"],
        author_association="MEMBER",
        comment_id=data["comment"]["id"],
    )


@pytest.mark.parametrize(
    "body", ["/conveyor runs", "please /conveyor run", "/conveyor run everything", "/ci run"]
)
async def test_other_comments_are_not_commands(body: str) -> None:
    assert (await dispatch("issue_comment", pull_request_comment(body))).commands == []


@pytest.mark.parametrize(
    ("said", "kept"), [(True, True), (False, False), ("yes", None), (None, None)]
)
async def test_whether_the_repository_is_private_is_what_github_said_or_not_known(
    said: object, kept: bool | None
) -> None:
    data = load("push.with-new-branch.json")
    data["created"] = False
    data["after"] = "a" * 40
    if said is None:
        del data["repository"]["private"]
    else:
        data["repository"]["private"] = said
    [request] = (await dispatch("push", data)).runs
    assert request.private is kept
