"""Test results → the check run a person reads: verdict, counts, failures, the end of the log."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.report import limits
from app.report.escapes import strip_escapes
from app.report.insight import (
    ReportContext,
    coverage_line,
    is_new,
    link,
    sections,
    verdict_detail,
)
from app.report.junit import TestCase, TestResults
from app.report.model import ICONS, RERUN_ALL, RERUN_FAILED, Annotation, CheckOutput
from app.report.output_counts import Counts

# pytest's exit codes (pytest.ExitCode)
PYTEST_OK, PYTEST_TESTS_FAILED, PYTEST_NO_TESTS = 0, 1, 5
FAILURE_ROWS = 30
MAX_ANNOTATIONS = limits.ANNOTATIONS_SENT


@dataclass(frozen=True)
class SuiteOutcome:
    """What the runner saw, in plain values (report/ knows nothing of how suites run)."""

    command: Sequence[str]
    returncode: int
    duration: float
    timed_out: bool
    cancelled: bool
    # None: no JUnit report was written (not pytest, or it never started).
    results: TestResults | None
    log_tail: str
    log_url: str | None = None
    # Set when the run stopped for a reason of its own before the tests could speak: a missing
    # Python, a failed install, a limit. `stopped` is the title, `stopped_detail` says more.
    stopped: str | None = None
    stopped_detail: str = ""
    # A report was written but could not be read.
    report_error: str | None = None
    # What ran: detected or configured commands, the Python, the environment cache.
    about: tuple[str, ...] = ()
    # Total line coverage in percent, when coverage ran.
    coverage: float | None = None
    # What linters and other tools said (ruff, flake8, mypy, pre-commit): annotations, and one
    # line each for the summary.
    tool_annotations: tuple[Annotation, ...] = ()
    tool_summaries: tuple[str, ...] = ()
    # Counts read from the output (pytest's or unittest's last lines), for a run that left no
    # report to read (tox running itself, a project's own --junitxml, a custom runner).
    counted: Counts | None = None


def build_output(outcome: SuiteOutcome, context: ReportContext | None = None) -> CheckOutput:
    """The check run: verdict line, counts, failures, what changed against the base branch,
    flaky and slow tests, what ran; annotations on the failing lines; re-run buttons."""
    context = context or ReportContext()
    output = _verdict(outcome, context)
    results = outcome.results or TestResults(())
    failing = results.failing
    parts = [
        f"{ICONS.get(output.conclusion, '')} **{output.title}**"
        + (verdict_detail(context, failing) if output.conclusion == "failure" else "")
        + ".",
        output.summary,
        *(sections(results, context) if output.conclusion in ("success", "failure") else ()),
    ]
    ran = [*outcome.about]
    if ran and outcome.command:
        # As the shell reads them: each command runs only when the one before passed.
        ran.append(f"Test commands: {_code(' && '.join(outcome.command))}")
    if ran:
        parts.append("### What ran\n\n" + "\n".join(f"- {line}" for line in ran))
    annotations = output.annotations + _on_changed_lines(failing, context)
    if len(annotations) > MAX_ANNOTATIONS:
        parts.insert(2, f"Annotations: the first {MAX_ANNOTATIONS} of {len(annotations)}.")
        annotations = annotations[:MAX_ANNOTATIONS]
    rerun_failed = (
        bool(failing)
        and outcome.results is not None
        and output.conclusion in ("failure", "timed_out")
    )
    return replace(
        output,
        summary="\n\n".join(part for part in parts if part),
        annotations=annotations,
        actions=(RERUN_FAILED, RERUN_ALL) if rerun_failed else (RERUN_ALL,),
    )


def _verdict(outcome: SuiteOutcome, context: ReportContext) -> CheckOutput:
    results = outcome.results or TestResults(())
    tally = _tally(results) if outcome.results is not None or not outcome.counted else None
    counts = _counts(tally or outcome.counted or Counts(), outcome.duration)
    counts += coverage_line(outcome.coverage, context)
    if context.only_tests:
        counts += f" (a re-run of {len(context.only_tests)} failed tests)"
    failing = results.failing
    text = _text(outcome)
    if outcome.cancelled:
        return CheckOutput("cancelled", "Cancelled", "The run was cancelled.", text)
    if outcome.timed_out:
        return CheckOutput(
            "timed_out",
            f"Timed out after {outcome.duration:.0f}s",
            f"The run took longer than allowed and was stopped.\n\n{counts}",
            text,
            _annotations(failing),
        )
    if outcome.stopped is not None:
        detail = f"{outcome.stopped_detail}\n\n" if outcome.stopped_detail else ""
        return CheckOutput(
            "failure", outcome.stopped, f"{detail}{counts}", text, _annotations(failing)
        )
    if failing:
        summary = f"{counts}\n\n{_failure_table(failing, context)}"
        return CheckOutput("failure", _failed_title(results), summary, text, _annotations(failing))
    shown = " && ".join(outcome.command) or "the tests"
    if outcome.results is None and outcome.report_error is None and outcome.counted:
        return _verdict_from_counted(outcome, outcome.counted, counts, text)
    if outcome.results is None and outcome.report_error is None:
        # Not pytest (a linter, unittest...): the exit code is the verdict.
        said = "\n".join(f"- {line}" for line in outcome.tool_summaries)
        tools = f"\n\n{said}" if said else ""
        if outcome.returncode == 0:
            return CheckOutput(
                "success", "Passed", f"`{shown}` passed.{tools}", text, outcome.tool_annotations
            )
        title = outcome.tool_summaries[0] if outcome.tool_summaries else ""
        return CheckOutput(
            "failure",
            title[:120] or f"Exited with code {outcome.returncode}",
            f"`{shown}` exited with code {outcome.returncode}; the end of its output is below."
            f"{tools}",
            text,
            outcome.tool_annotations,
        )
    if outcome.returncode == PYTEST_OK and outcome.results is None:
        return CheckOutput(
            "success",
            "Tests passed",
            "pytest passed, but its test report could not be read, so there are no counts; "
            "the end of its output is below.",
            text,
        )
    if outcome.returncode == PYTEST_NO_TESTS or (outcome.returncode == 0 and not results.cases):
        return CheckOutput(
            "neutral",
            "No tests found",
            "pytest collected no tests in this commit. Add tests (files named `test_*.py`) "
            "and Conveyor will run them.",
            text,
        )
    if outcome.returncode != PYTEST_OK:
        return CheckOutput(
            "failure",
            f"pytest exited with code {outcome.returncode}",
            f"pytest stopped with exit code {outcome.returncode} before reporting a test "
            f"failure; the end of its output is below.\n\n{counts}",
            text,
        )
    passed = results.count("passed")
    return CheckOutput(
        "success",
        f"{passed} test{'s' if passed != 1 else ''} passed",
        counts,
        text,
    )


def _verdict_from_counted(
    outcome: SuiteOutcome, counted: Counts, counts: str, text: str
) -> CheckOutput:
    """No report, but the output's last lines said how many: the exit code is the verdict."""
    shown = " && ".join(outcome.command) or "the tests"
    said = (
        f"{counts}\n\nCounted from the output of `{shown}` (it left no test report to read); "
        "the end of its output is below."
    )
    if outcome.returncode == 0:
        if not counted.passed + counted.failed + counted.errors + counted.skipped:
            return CheckOutput("neutral", "No tests found", said, text)
        title = f"{counted.passed} test{'s' if counted.passed != 1 else ''} passed"
        return CheckOutput("success", title, said, text, outcome.tool_annotations)
    title = _failed_title_of(counted.failed, counted.errors)
    return CheckOutput(
        "failure",
        title or f"Exited with code {outcome.returncode}",
        said,
        text,
        outcome.tool_annotations,
    )


def _tally(results: TestResults) -> Counts:
    return Counts(
        results.count("passed"),
        results.count("failed"),
        results.count("error"),
        results.count("skipped"),
    )


def _counts(tally: Counts, duration: float) -> str:
    parts = [
        f"**{tally.passed}** passed",
        f"**{tally.failed}** failed",
        f"**{tally.errors}** errors",
        f"**{tally.skipped}** skipped",
    ]
    return " · ".join(parts) + f" in {duration:.1f}s"


def _failed_title(results: TestResults) -> str:
    return _failed_title_of(results.count("failed"), results.count("error"))


def _failed_title_of(failed: int, errors: int) -> str:
    bits = []
    if failed:
        bits.append(f"{failed} test{'s' if failed != 1 else ''} failed")
    if errors:
        bits.append(f"{errors} error{'s' if errors != 1 else ''}")
    return ", ".join(bits)


def _failure_table(failing: Sequence[TestCase], context: ReportContext) -> str:
    rows = ["### Failed tests", "", "| Test | Where | Message |", "| --- | --- | --- |"]
    for case in failing[:FAILURE_ROWS]:
        where = link(context, case.file, case.line) if case.file else ""
        message = _first_line(case.message).replace("|", "\\|")[:200]
        new = " 🆕" if is_new(context, case) else ""
        rows.append(f"| `{case.node_id}`{new} | {where} | {message} |")
    if len(failing) > FAILURE_ROWS:
        rows.append(f"\n… and {len(failing) - FAILURE_ROWS} more (all are annotated).")
    return "\n".join(rows)


def _on_changed_lines(
    failing: Sequence[TestCase], context: ReportContext
) -> tuple[Annotation, ...]:
    """Where a failure's traceback runs through lines the pull request changed, say so there
    too: GitHub shows annotations in "Files changed" only on the files of the change."""
    extra = []
    for case in failing:
        for path, line in case.frames:
            if line in context.changed_lines.get(path, ()) and (path, line) != (
                case.file,
                case.line,
            ):
                extra.append(
                    Annotation(
                        path=path,
                        start_line=line,
                        end_line=line,
                        level="failure",
                        title=f"{case.node_id} fails through this changed line"[:255],
                        message=case.message or f"{case.name} {case.outcome}",
                        raw_details=case.details[-4000:] or None,
                    )
                )
    return tuple(extra)


def _annotations(failing: Sequence[TestCase]) -> tuple[Annotation, ...]:
    return tuple(
        Annotation(
            path=case.file,
            start_line=case.line,
            end_line=case.line,
            level="failure",
            title=case.node_id[:255],
            message=case.message or f"{case.name} {case.outcome}",
            raw_details=case.details[-4000:] or None,
        )
        for case in failing
        if case.file and case.line
    )


def _text(outcome: SuiteOutcome) -> str:
    """The command, the link to the whole log, the failing tests' tracebacks, and as much of
    the log's end as GitHub takes; no terminal escapes (GitHub would show them as `␛[32m`)."""
    # Each at most a quarter of the text, so that the log always has room.
    quarter = limits.TEXT_BYTES // 4
    # Several commands as the shell reads them: each runs only if the one before passed.
    head = limits.keep_head(f"`$ {' && '.join(outcome.command)}`", quarter) + "\n\n"
    link = (
        limits.keep_head(f"Full log: {outcome.log_url}", quarter) + "\n\n"
        if outcome.log_url
        else ""
    )
    tracebacks = _tracebacks(outcome, quarter)
    tail = strip_escapes(outcome.log_tail)
    # The fence of the whole tail is at least as long as that of any part of it.
    marks = len(fence(tail)) - len(tail)
    room = limits.TEXT_BYTES - limits.size(head + link + tracebacks) - marks
    return f"{head}{link}{tracebacks}{fence(limits.keep_tail(tail, room))}"


def _tracebacks(outcome: SuiteOutcome, room: int) -> str:
    """The failing tests' tracebacks, first ones first, in `room` bytes: what a developer reads
    before the log's end."""
    failing = [c for c in (outcome.results.failing if outcome.results else ()) if c.details]
    if not failing:
        return ""
    parts = ["### Tracebacks\n\n"]
    used = limits.size(parts[0])
    for case in failing:
        part = f"{_code(case.node_id)}\n{fence(strip_escapes(case.details[-4000:]))}\n\n"
        if used + limits.size(part) > room:
            parts.append(f"… and {len(failing) - len(parts) + 1} more (see the log)\n\n")
            break
        parts.append(part)
        used += limits.size(part)
    return "".join(parts)


def _code(text: str) -> str:
    """Inline code that the text's own backticks cannot end early."""
    text = limits.keep_head(" ".join(text.split()), 2000)
    marks = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{marks}{pad}{text}{pad}{marks}"


def fence(text: str) -> str:
    """A code block that the text cannot close early, however many backticks it holds."""
    longest = max(map(len, re.findall("`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}\n{text}\n{marks}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
