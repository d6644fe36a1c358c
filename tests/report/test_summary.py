"""app/report/summary.py: real pytest runs → the check run's verdict, text and annotations."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from app.report.junit import TestCase as Case  # aliased: pytest would try to collect Test*
from app.report.junit import TestResults as Results
from app.report.junit import parse_junit
from app.report.limits import OMITTED, TEXT_BYTES
from app.report.model import RERUN_ALL, CheckOutput
from app.report.summary import SuiteOutcome, build_output, fence
from tests.report.test_junit import NO_TESTS, SAMPLE, Run, line_of, run_pytest

# The check's test commands, one shell command each (here one).
COMMAND = ("python -m pytest -ra --junitxml=junit.xml",)
PASSING = "def test_one():\n    assert True\n\n\ndef test_two():\n    assert 2\n"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_pytest(
        tmp_path_factory.mktemp("mixed"),
        {"tests/test_sample.py": SAMPLE, "tests/test_nothing_here.py": NO_TESTS},
    )


def outcome(
    run: Run | None,
    *,
    returncode: int | None = None,
    results: Results | None = None,
    duration: float = 2.5,
    timed_out: bool = False,
    cancelled: bool = False,
    log_tail: str | None = None,
    log_url: str | None = None,
) -> SuiteOutcome:
    """What the runner would hand over after `run` (or after no run at all)."""
    if results is None and run is not None and run.junit.exists():
        results = parse_junit(run.junit)
    if returncode is None:
        returncode = run.returncode if run is not None else 0
    return SuiteOutcome(
        command=COMMAND,
        returncode=returncode,
        duration=duration,
        timed_out=timed_out,
        cancelled=cancelled,
        results=results,
        log_tail=(run.output if run else "") if log_tail is None else log_tail,
        log_url=log_url,
    )


def closes_fence(line: str, marks: str) -> bool:
    """CommonMark: a closing fence is ≤ 3 spaces, at least as many backticks, then spaces."""
    return re.fullmatch(rf" {{0,3}}`{{{len(marks)},}}[ \t]*", line) is not None


def fenced_block(text: str) -> str:
    """The content of the first fenced code block of `text`, read the way CommonMark would."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"`{3,}", line))
    marks = lines[start]
    for end in range(start + 1, len(lines)):
        if closes_fence(lines[end], marks):
            return "\n".join(lines[start + 1 : end])
    raise AssertionError("the code block is never closed")


# -- conclusions -------------------------------------------------------------------------------


def test_failures_give_failure_with_counts_table_and_annotations(mixed: Run) -> None:
    assert mixed.returncode == 1
    result = build_output(outcome(mixed))
    assert result.conclusion == "failure"
    assert result.title == "4 tests failed, 1 error"
    verdict, counts, table = result.summary.split("\n\n", 2)
    assert verdict == "✖ **4 tests failed, 1 error**."
    assert counts == "**4** passed · **4** failed · **1** errors · **1** skipped in 2.5s"
    heading, table = table.split("\n\n", 1)
    assert heading == "### Failed tests"
    rows = table.splitlines()
    assert rows[:2] == ["| Test | Where | Message |", "| --- | --- | --- |"]
    assert rows[2] == (
        f"| `tests/test_sample.py::test_fails` | `tests/test_sample.py:"
        f"{line_of(SAMPLE, 'assert 1 + 1 == 3')}` | assert (1 + 1) == 3 |"
    )
    assert len(rows) == 2 + 5


def test_every_failing_case_is_annotated_on_its_file_and_line(mixed: Run) -> None:
    result = build_output(outcome(mixed))
    where = {(a.title, a.path, a.start_line, a.end_line, a.level) for a in result.annotations}
    file = "tests/test_sample.py"
    assert where == {
        (
            "tests/test_sample.py::test_fails",
            file,
            line_of(SAMPLE, "assert 1 + 1 == 3"),
            line_of(SAMPLE, "assert 1 + 1 == 3"),
            "failure",
        ),
        (
            "tests/test_sample.py::test_raises",
            file,
            line_of(SAMPLE, "raise RuntimeError"),
            line_of(SAMPLE, "raise RuntimeError"),
            "failure",
        ),
        (
            "tests/test_sample.py::test_fixture_error",
            file,
            line_of(SAMPLE, 'raise OSError("no disk")'),
            line_of(SAMPLE, 'raise OSError("no disk")'),
            "failure",
        ),
        (
            "tests/test_sample.py::TestGroup::test_in_class_fails",
            file,
            line_of(SAMPLE, 'assert "a" == "b"'),
            line_of(SAMPLE, 'assert "a" == "b"'),
            "failure",
        ),
        (
            "tests/test_sample.py::test_param[2]",
            file,
            line_of(SAMPLE, "assert n != 2"),
            line_of(SAMPLE, "assert n != 2"),
            "failure",
        ),
    }
    raises = next(a for a in result.annotations if a.title == "tests/test_sample.py::test_raises")
    assert raises.message == "RuntimeError: boom"
    assert raises.raw_details is not None
    assert "tests/test_sample.py:13: RuntimeError" in raises.raw_details


def test_the_tracebacks_then_the_log_tail_are_fenced_after_the_command(mixed: Run) -> None:
    result = build_output(outcome(mixed, log_url="https://ci.example.com/runs/x/log"))
    head, link, rest = result.text.split("\n\n", 2)
    assert head == "`$ python -m pytest -ra --junitxml=junit.xml`"
    assert link == "Full log: https://ci.example.com/runs/x/log"
    split = rest.index("\n\n```\n" + mixed.output[:40])
    tracebacks, tail = rest[:split], rest[split + 2 :]
    assert tracebacks.startswith("### Tracebacks\n\n`tests/test_sample.py::test_fails`\n```\n")
    assert "assert (1 + 1) == 3" in tracebacks
    assert tracebacks.index("test_fails") < tracebacks.index("test_raises")
    assert fenced_block(tail) == mixed.output
    assert "FAILED tests/test_sample.py::test_fails - assert (1 + 1) == 3" in fenced_block(tail)


def test_the_text_for_github_has_no_terminal_escapes(mixed: Run) -> None:
    coloured = replace(outcome(mixed), log_tail="\x1b[32m1 passed\x1b[0m\x1b]0;t\x07\n50%\r100%\n")
    text = build_output(coloured).text
    assert "\x1b" not in text
    assert "```\n1 passed\n100%\n" in text  # a progress bar's last state


def test_all_passing_is_success(tmp_path: Path) -> None:
    run = run_pytest(tmp_path / "green", {"test_green.py": PASSING})
    assert run.returncode == 0
    result = build_output(outcome(run, duration=0.04))
    assert (result.conclusion, result.title) == ("success", "2 tests passed")
    assert result.summary == (
        "✔ **2 tests passed**.\n\n"
        "**2** passed · **0** failed · **0** errors · **0** skipped in 0.0s"
    )
    assert result.annotations == ()
    assert result.actions == (RERUN_ALL,)
    assert "2 passed" in fenced_block(result.text)


def test_exit_0_without_any_case_is_neutral_and_one_test_is_singular() -> None:
    nothing = build_output(outcome(None, returncode=0, results=Results(())))
    assert (nothing.conclusion, nothing.title) == ("neutral", "No tests found")
    single = Results((Case("t", "test_a", "passed", 0.1),))
    assert build_output(outcome(None, returncode=0, results=single)).title == "1 test passed"


def test_no_tests_exit_5_is_neutral(tmp_path: Path) -> None:
    run = run_pytest(tmp_path / "empty", {"tests/test_nothing.py": NO_TESTS})
    assert run.returncode == 5
    result = build_output(outcome(run))
    assert result.conclusion == "neutral"
    assert result.title == "No tests found"
    assert "pytest collected no tests" in result.summary
    assert "no tests ran" in fenced_block(result.text)


def test_a_pytest_that_stops_before_any_test_is_a_failure(tmp_path: Path) -> None:
    run = run_pytest(tmp_path / "broken", {"conftest.py": "import nonexistent_module_xyz\n"})
    assert run.returncode == 4, run.output  # a conftest that cannot be imported: usage error
    assert not run.junit.exists()  # pytest gave up before it could write a report
    result = build_output(outcome(run))
    assert result.conclusion == "failure"
    # No report: the exit code is all there is to go on.
    assert result.title == "Exited with code 4"
    assert "exited with code 4" in result.summary
    assert "nonexistent_module_xyz" in fenced_block(result.text)


def test_timed_out_keeps_the_annotations_found_so_far(mixed: Run) -> None:
    result = build_output(outcome(mixed, returncode=-9, timed_out=True, duration=600.4))
    assert result.conclusion == "timed_out"
    assert result.title == "Timed out after 600s"
    assert result.summary.startswith(
        "⏱ **Timed out after 600s**.\n\nThe run took longer than allowed and was stopped."
    )
    assert "**4** passed · **4** failed" in result.summary
    assert len(result.annotations) == 5


def test_timed_out_without_a_report() -> None:
    result = build_output(outcome(None, returncode=-9, timed_out=True, log_tail="slow..."))
    assert (result.conclusion, result.title) == ("timed_out", "Timed out after 2s")
    assert result.annotations == ()
    assert fenced_block(result.text) == "slow..."


def test_cancelled_wins_over_everything(mixed: Run) -> None:
    result = build_output(outcome(mixed, cancelled=True, timed_out=True))
    assert result == CheckOutput(
        "cancelled",
        "Cancelled",
        "⊘ **Cancelled**.\n\nThe run was cancelled.",
        result.text,
        (),
        (RERUN_ALL,),
    )
    tail = result.text[result.text.index("\n\n```\n" + mixed.output[:40]) :]
    assert fenced_block(tail) == mixed.output


# -- the log tail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "log",
    [
        "plain",
        "```\nnot the end\n```",
        "````python\nx\n````\n``````",
        "inline `code` and ``` in the middle",
        "   ```\nindented fence",
        "```",
        "",
    ],
)
def test_backticks_in_the_log_cannot_close_the_fence(log: str) -> None:
    result = build_output(outcome(None, returncode=1, log_tail=log))
    block = fenced_block(result.text.split("\n\n", 1)[1])
    assert block == log
    marks = result.text.split("\n\n", 1)[1].split("\n", 1)[0]
    assert len(marks) >= 3
    assert not any(closes_fence(line, marks) for line in log.split("\n"))


def test_fence_uses_one_more_backtick_than_the_longest_run() -> None:
    assert fence("a") == "```\na\n```"
    assert fence("x ````` y") == "``````\nx ````` y\n``````"


def test_only_the_end_of_a_long_log_is_kept() -> None:
    log = "".join(f"line {n}\n" for n in range(20_000))
    result = build_output(outcome(None, returncode=1, log_tail=log))
    block = fenced_block(result.text)
    assert len(result.text.encode()) <= TEXT_BYTES
    assert block.startswith(OMITTED)
    assert log.endswith("\n" + block.removeprefix(OMITTED))  # from the start of a line
    assert block.endswith("line 19999\n")
    assert len(block) > TEXT_BYTES - 1024


def test_a_multibyte_log_is_kept_within_githubs_bytes() -> None:
    """The log's end fits in 65 535 bytes with the command and the fence, so that GitHub
    takes it and nothing cuts the end of the log off later."""
    log = "é€测试 " * 20_000 + "\nthe last line\n"
    long_command = replace(outcome(None, returncode=1, log_tail=log), command=("x" * 100_000,))
    result = build_output(long_command)
    assert 60_000 < len(result.text.encode()) <= TEXT_BYTES
    block = fenced_block(result.text)
    assert block.startswith(OMITTED)
    assert block.endswith("é€测试 \nthe last line\n")


def test_the_failure_table_stops_at_30_rows() -> None:
    many = Results(
        tuple(
            Case("tests.test_m", f"test_{n}", "failed", 0.0, "tests/test_m.py", n + 1, "a | b")
            for n in range(35)
        )
    )
    result = build_output(outcome(None, returncode=1, results=many))
    assert result.title == "35 tests failed"
    rows = [r for r in result.summary.splitlines() if r.startswith("| `")]
    assert len(rows) == 30
    assert rows[0] == "| `tests/test_m.py::test_0` | `tests/test_m.py:1` | a \\| b |"
    assert "… and 5 more (all are annotated)." in result.summary
    assert len(result.annotations) == 35


def test_exit_0_with_an_unreadable_report_is_success_without_claiming_no_tests() -> None:
    result = build_output(
        replace(
            outcome(None, returncode=0, results=None, log_tail="3 passed in 0.1s"),
            report_error="junit.xml: not valid XML",
        )
    )
    assert (result.conclusion, result.title) == ("success", "Tests passed")
    assert "could not be read" in result.summary
    assert "3 passed" in fenced_block(result.text)


def test_a_command_without_a_report_is_judged_by_its_exit_code() -> None:
    passed = build_output(
        replace(
            outcome(None, returncode=0), command=("ruff check .",), log_tail="All checks passed!"
        )
    )
    assert (passed.conclusion, passed.title, passed.summary) == (
        "success",
        "Passed",
        "✔ **Passed**.\n\n`ruff check .` passed.",
    )
    failed = build_output(replace(outcome(None, returncode=1), command=("ruff check .",)))
    assert (failed.conclusion, failed.title) == ("failure", "Exited with code 1")


def test_a_run_stopped_before_the_tests_says_why_and_what_ran() -> None:
    result = build_output(
        replace(
            outcome(None, returncode=1),
            stopped="Install failed",
            stopped_detail="`pip install -e .[test]` exited with code 1.",
            about=("Python 3.12.1", "Environment: built (new dependencies)"),
        )
    )
    assert result.conclusion == "failure"
    assert result.title == "Install failed"
    assert result.summary.startswith(
        "✖ **Install failed**.\n\n`pip install -e .[test]` exited with code 1."
    )
    assert result.summary.endswith(
        "### What ran\n\n- Python 3.12.1\n- Environment: built (new dependencies)\n"
        "- Test commands: `python -m pytest -ra --junitxml=junit.xml`"
    )


# ---- counts read from the output when no report was left (tox itself, own --junitxml, unittest)


def test_counts_come_from_pytest_s_last_lines_when_there_is_no_report() -> None:
    from app.report.output_counts import counts_from_output

    log = (
        "py311: commands[0]> pytest tests\n"
        "========== 1 failed, 12 passed, 1 skipped, 2 xfailed, 3 warnings in 0.52s ==========\n"
        "py312: commands[0]> pytest tests\n"
        "=============== 13 passed, 3 skipped in 0.50s (0:00:00) ===============\n"
    )
    counted = counts_from_output(log)
    result = build_output(
        replace(
            outcome(None, returncode=1, log_tail=log),
            command=("tox run -e py311,py312", "coverage report"),
            counted=counted,
            about=("Detected: tox env `py311` in tox.ini.",),
        )
    )
    assert (result.conclusion, result.title) == ("failure", "1 test failed")
    assert result.summary.splitlines()[2].startswith(
        "**25** passed · **1** failed · **0** errors · **6** skipped in 2.5s"
    )
    assert "`tox run -e py311,py312 && coverage report`" in result.summary
    assert result.summary.endswith("- Test commands: `tox run -e py311,py312 && coverage report`")
    assert result.text.startswith("`$ tox run -e py311,py312 && coverage report`")


def test_counts_come_from_unittest_s_ran_line_of_a_custom_runner() -> None:
    from app.report.output_counts import Counts, counts_from_output

    log = "....s.\n" + "-" * 70 + "\nRan 6 tests in 0.003s\n\nOK (skipped=1)\n"
    assert counts_from_output(log) == Counts(passed=5, skipped=1)
    failed = "Ran 9 tests in 0.1s\n\nFAILED (failures=2, errors=1, expected failures=1)\n"
    assert counts_from_output(failed) == Counts(passed=5, failed=2, errors=1, skipped=1)
    result = build_output(
        replace(
            outcome(None, returncode=0, log_tail=log),
            command=("python runtests.py",),
            counted=counts_from_output(log),
        )
    )
    assert (result.conclusion, result.title) == ("success", "5 tests passed")
    assert counts_from_output("no summary here\n") is None
