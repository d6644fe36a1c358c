"""app/job_secrets.py: trust, the secrets a check is given, and masking what a run reports.

A trusted commit (on a branch, or re-run of a trusted run) needs a real repository: that is
tested through the worker, in tests/test_worker.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.job_secrets import Trust, masked, secrets_for
from app.state import State, open_state
from app.suite.checkout import Deadline, Mirrors
from app.suite.plan import CheckSpec
from app.suite.runlog import Masker, RunLog
from tests.state.factories import new_job, request

SECRET = "s3cret-value-of-the-repository"


@pytest.fixture
def run_log(tmp_path: Path) -> Iterator[RunLog]:
    opened = RunLog(tmp_path / "output.log", Masker((SECRET,)))
    yield opened
    opened.close()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    opened = open_state(None, tmp_path / "data")
    yield opened
    opened.close()


def check(*secrets: str) -> CheckSpec:
    return CheckSpec("tests", "", (), ("pytest",), secrets=secrets)


def test_a_check_that_names_no_secrets_gets_none(run_log: RunLog) -> None:
    assert secrets_for(check(), {"TOKEN": SECRET}, run_log, trusted=True) == {}
    assert run_log.tail() == ""


def test_untrusted_code_gets_no_secrets_and_the_log_says_which(run_log: RunLog) -> None:
    given = secrets_for(check("TOKEN", "OTHER"), {"TOKEN": SECRET}, run_log, trusted=False)
    assert given == {}
    assert run_log.tail() == "Secrets not given to untrusted code: TOKEN, OTHER\n"


def test_trusted_code_gets_the_values_there_are_and_the_log_names_the_missing(
    run_log: RunLog,
) -> None:
    values = {"TOKEN": SECRET, "UNASKED": "another-value"}
    given = secrets_for(check("TOKEN", "MISSING"), values, run_log, trusted=True)
    assert given == {"TOKEN": SECRET}
    assert run_log.tail() == "Secrets this Conveyor has no value for: MISSING\n"


def test_every_string_of_a_json_value_is_masked() -> None:
    value = {
        "title": f"failed: {SECRET}",
        "annotations": [{"message": SECRET, "line": 3}, ("kept", f"x{SECRET}y")],
        "count": 2,
        "none": None,
    }
    assert masked(value, Masker((SECRET,))) == {
        "title": "failed: ***",
        "annotations": [{"message": "***", "line": 3}, ["kept", "x***y"]],
        "count": 2,
        "none": None,
    }


async def test_a_fork_s_job_is_untrusted_and_the_log_says_why(
    state: State, run_log: RunLog, tmp_path: Path
) -> None:
    job = new_job(state.jobs, request(from_fork=True, reason="pull_request"))
    trust = Trust(Mirrors(tmp_path / "mirrors"), state.db, state.jobs)

    assert await trust.decide(job, "token", run_log, Deadline.after(10)) is False

    assert run_log.tail() == (
        "Untrusted (a pull request from a fork): no secrets, no package-index credentials,"
        " and nothing it installs is kept for later runs\n"
    )
    assert not (tmp_path / "mirrors").exists()  # decided without fetching anything
