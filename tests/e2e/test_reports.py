"""What people see and do on a pull request: annotations, re-runs, comments, history.

On both databases where what is shown comes from the database (the failed tests a re-run picks,
a comment's re-run, a test's history on the commit or its branch); on SQLite alone where it
comes from the run's own reports (annotations, 500 failures, a lint check). A `[skip ci]`
commit: tests/test_worker.py."""

from __future__ import annotations

import textwrap

import pytest

from app.localgithub import CheckRun
from tests.e2e.harness import Harness

CONFIG = '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest"]\n'
CALC = (
    "def add(a, b):\n    return a + b\n\n\n"
    "def mean(values):\n    return sum(values) / len(values)\n"
)
TESTS = textwrap.dedent(
    """\
    from calc import add, mean


    def test_add():
        assert add(2, 3) == 5


    def test_mean():
        assert mean([1, 2, 3, 4]) == 2.5


    def test_mean_of_one():
        assert mean([7]) == 7
    """
)
BROKEN = CALC.replace("sum(values) / len(values)", "sum(values) // len(values)")


async def failing_pull_request(harness: Harness) -> tuple[str, CheckRun]:
    harness.commit({"pyproject.toml": CONFIG, "calc.py": CALC, "test_calc.py": TESTS}, "calc")
    await harness.push("main")
    harness.branch("faster")
    sha = harness.commit({"calc.py": BROKEN}, "integer division")
    await harness.push("faster")
    await harness.pull_request("faster")
    [run] = await harness.completed(sha, timeout=180)
    return sha, run


@pytest.mark.databases("sqlite")
async def test_a_failing_pull_request_is_annotated_on_the_failing_lines(harness: Harness) -> None:
    sha, run = await failing_pull_request(harness)

    assert run.conclusion == "failure"
    assert run.output.title == "1 test failed"
    places = {(a.path, a.start_line, a.annotation_level) for a in run.annotations}
    assert ("test_calc.py", 9, "failure") in places  # `assert mean([1, 2, 3, 4]) == 2.5`
    assert TESTS.splitlines()[8].strip() == "assert mean([1, 2, 3, 4]) == 2.5"
    [annotation] = [a for a in run.annotations if a.path == "test_calc.py"]
    assert "assert 2 == 2.5" in annotation.message
    summary = run.output.summary or ""
    assert summary.startswith("✖ **1 test failed**")
    assert f"/blob/{sha}/test_calc.py#L9" in summary
    assert [a.identifier for a in run.actions] == ["rerun-failed", "rerun-all"]


async def test_rerun_failed_runs_only_the_failed_tests(harness: Harness) -> None:
    sha, run = await failing_pull_request(harness)

    await harness.github.request_action(run.id, "rerun-failed")
    runs = await harness.completed(sha, count=2, timeout=120)

    again = runs[-1]
    assert again.conclusion == "failure"
    summary = again.output.summary or ""
    assert "**0** passed · **1** failed" in summary
    assert "(a re-run of 1 failed tests)" in summary


async def test_a_comment_runs_the_checks_again(harness: Harness) -> None:
    sha, _ = await failing_pull_request(harness)
    pull = harness.github.pull_request(harness.repo, 1)

    await harness.github.comment(pull, "/conveyor run", author_association="MEMBER")
    runs = await harness.completed(sha, count=2, timeout=120)
    assert [r.conclusion for r in runs] == ["failure", "failure"]
    assert "**2** passed · **1** failed" in (runs[1].output.summary or "")

    await harness.github.comment(pull, "/conveyor run", author_association="NONE")
    await harness.github.comment(
        pull, "nice work, /conveyor run later?", author_association="OWNER"
    )
    await harness.github.comment(pull, "/conveyor run failed", author_association="OWNER")
    runs = await harness.completed(sha, count=3, timeout=120)
    assert len(runs) == 3  # the stranger's and the chatty comment started nothing
    assert "**0** passed · **1** failed" in (runs[2].output.summary or "")


async def test_a_fixed_push_turns_the_check_green_and_says_what_was_fixed(
    harness: Harness,
) -> None:
    await failing_pull_request(harness)
    fixed = harness.commit({"calc.py": CALC}, "true division again")
    await harness.push("faster")

    [green] = await harness.completed(fixed, timeout=120)

    assert green.conclusion == "success"
    assert green.output.title == "3 tests passed"


@pytest.mark.databases("sqlite")
async def test_five_hundred_failures_are_reported_without_a_refusal(harness: Harness) -> None:
    many = (
        "import pytest\n\n\n"
        "@pytest.mark.parametrize('n', range(500))\ndef test_n(n):\n    assert n < 0\n"
    )
    sha = harness.commit({"pyproject.toml": CONFIG, "test_many.py": many}, "many")
    await harness.push("main")

    [run] = await harness.completed(sha, timeout=180)

    assert run.conclusion == "failure"
    assert run.output.title == "500 tests failed"
    assert len(run.annotations) == 500
    patches = [c for c in harness.github.calls if c.method == "PATCH" and c.status == 200]
    assert len(patches) >= 10  # 50 annotations a request


async def test_a_test_that_fails_then_passes_on_the_same_commit_is_called_flaky(
    harness: Harness,
) -> None:
    # Fails on a whole run, passes when re-run alone: as a test that depends on order would.
    wobbly = "import os\n\n\ndef test_wobbly():\n    assert 'CONVEYOR_ONLY' in os.environ\n"
    sha = harness.commit({"pyproject.toml": CONFIG, "test_wobbly.py": wobbly}, "wobbly")
    await harness.push("main")
    [first] = await harness.completed(sha, timeout=120)
    assert first.conclusion == "failure"

    await harness.github.request_action(first.id, "rerun-failed")
    runs = await harness.completed(sha, count=2, timeout=120)

    assert runs[1].conclusion == "success"
    assert (
        "### Flaky: 1\n\n- `test_wobbly.py::test_wobbly`: failed, then passed on this commit"
        in (runs[1].output.summary or "")
    )


@pytest.mark.databases("sqlite")
async def test_a_lint_check_annotates_with_rule_codes_and_columns(harness: Harness) -> None:
    config = textwrap.dedent(
        """\
        checks:
          lint:
            install: pip install ruff
            run: ruff check .
        """
    )
    code = "import os\n\n\ndef f(x):\n    return undefined_name + x\n"
    sha = harness.commit({".conveyor.yml": config, "mod.py": code}, "lint me")
    await harness.push("main")

    runs = await harness.completed(sha, timeout=180)

    [lint] = [r for r in runs if r.name == "lint"]
    assert lint.conclusion == "failure"
    found = {(a.path, a.start_line, a.start_column, a.title) for a in lint.annotations}
    assert ("mod.py", 1, 8, "F401") in found
    assert ("mod.py", 5, 12, "F821") in found
    assert (lint.output.title or "").startswith("ruff: 2 problems")
