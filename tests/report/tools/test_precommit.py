"""`pre-commit run` with local hooks (ruff, flake8, mypy and two scripts), really run, through
app/report/tools/precommit.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.report.model import Annotation
from app.report.tools import ToolReport, parse_tool_output

from .samples import LINT, PRE_COMMIT, TYPED, need, run, write
from .test_flake8 import ERRORS, FLAKE8_MISTAKES
from .test_mypy import CALLS, MYPY_MISTAKES
from .test_ruff import LINT_MISTAKES

COMMAND = "pre-commit run --all-files"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> ToolReport:
    need("flake8")
    need("pre-commit")
    project = tmp_path_factory.mktemp("pre-commit").resolve()
    lint = {name: text for name, text in LINT.items() if name != "pkg/syntax.py"}
    write(project, {**lint, **TYPED, **PRE_COMMIT})
    for command in ("git init -q", "git add -A"):
        assert run(command, project).returncode == 0
    cache = {
        "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home")),
        "MYPY_CACHE_DIR": str(tmp_path_factory.mktemp("mypy-cache")),
    }
    done = run(COMMAND, project, env=cache)
    assert "- hook id: ruff\n" in done.output, done.output
    parsed = parse_tool_output(COMMAND, done.output, root=str(project))
    assert parsed is not None
    assert parsed.tool == "pre-commit"
    return parsed


def _of(report: ToolReport, hook: str) -> list[Annotation]:
    return [a for a in report.annotations if a.title == f"pre-commit: {hook}"]


def test_summary_names_the_failed_hooks(report: ToolReport) -> None:
    assert report.summary == (
        "pre-commit: 6 of 8 hooks failed: trailing-whitespace (modified files), check-yaml,"
        " ruff, flake8, mypy, ruff-format (modified files)"
    )
    titles = {a.title for a in report.annotations}
    assert titles == {
        f"pre-commit: {hook}"
        for hook in ("trailing-whitespace", "check-yaml", "ruff", "flake8", "mypy")
    }


def test_a_fixing_hook_warns_on_the_files_it_changed(report: ToolReport) -> None:
    (fixed,) = _of(report, "trailing-whitespace")

    assert (fixed.path, fixed.start_line, fixed.level) == ("docs/notes.txt", 1, "warning")
    assert fixed.message == (
        'The "trim trailing whitespace" hook rewrites this file (Fixing docs/notes.txt)'
    )


def test_a_yaml_error_is_where_the_parser_stopped(report: ToolReport) -> None:
    (bad,) = _of(report, "check-yaml")

    assert (bad.path, bad.start_line, bad.start_column, bad.level) == ("bad.yaml", 2, 6, "failure")
    assert bad.message == "while parsing a flow sequence\nexpected ',' or ']', but got ':'"
    assert bad.raw_details is not None
    assert 'in "bad.yaml", line 1, column 6' in bad.raw_details


def test_ruff_hook(report: ToolReport) -> None:
    got = [(a.path, a.start_line, a.start_column, a.level) for a in _of(report, "ruff")]
    mistakes = [m for m in LINT_MISTAKES if m.path == "pkg/lint.py"]
    assert got == [(m.path, m.line, m.column, "failure") for m in mistakes]
    for a, m in zip(_of(report, "ruff"), mistakes, strict=True):
        assert a.message.startswith(f"{m.code}: "), a
        assert m.words in a.message
        assert a.message.endswith(" (fixable)") == m.fixable
    assert _of(report, "ruff")[1].message == "F401: `os` imported but unused (fixable)"


def test_flake8_hook(report: ToolReport) -> None:
    got = [
        (a.path, a.start_line, a.start_column, a.message, a.level) for a in _of(report, "flake8")
    ]
    assert got == [
        (path, line, column, f"{code}: {message}", "failure" if code in ERRORS else "warning")
        for path, line, column, code, message in FLAKE8_MISTAKES
        if path == "pkg/lint.py"
    ]


def test_mypy_hook(report: ToolReport) -> None:
    got = [(a.path, a.start_line, a.level, a.message) for a in _of(report, "mypy")]
    assert got == [
        (CALLS, line, level, f"{code}: {message}" if code else message)
        for line, _, _, level, code, message in MYPY_MISTAKES
    ]
    assert (_of(report, "mypy")[0].raw_details or "").startswith("note: See https://mypy")


def test_the_diff_shown_on_failure_is_no_hook_output(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project = tmp_path_factory.mktemp("pre-commit-diff").resolve()
    write(project, PRE_COMMIT)
    for command in ("git init -q", "git add -A"):
        assert run(command, project).returncode == 0
    command = "pre-commit run --all-files --show-diff-on-failure"
    home = {"PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home"))}
    done = run(command, project, env=home)
    assert "+++ b/docs/notes.txt" in done.output, done.output

    shown = parse_tool_output(command, done.output, root=str(project))

    assert shown is not None
    assert [(a.path, a.title) for a in shown.annotations] == [
        ("docs/notes.txt", "pre-commit: trailing-whitespace"),
        ("bad.yaml", "pre-commit: check-yaml"),
    ]


def test_a_run_that_stops_before_any_hook_says_why(tmp_path: Path) -> None:
    # A config pre-commit refuses: it stops before the first hook (this used to raise).
    write(tmp_path, {".pre-commit-config.yaml": "repos: [oops\n"})
    for command in ("git init -q", "git add -A"):
        assert run(command, tmp_path).returncode == 0
    home = {"PRE_COMMIT_HOME": str(tmp_path / "home")}
    done = run(COMMAND, tmp_path, env=home)
    assert done.returncode != 0

    shown = parse_tool_output(COMMAND, done.output, root=str(tmp_path))

    assert shown is not None
    assert shown.annotations == ()
    assert shown.summary.startswith("pre-commit: An error has occurred"), done.output
