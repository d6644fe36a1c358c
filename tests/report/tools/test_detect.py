"""Which tool a command runs: app/report/tools/__init__.py."""

from __future__ import annotations

import pytest

from app.report.tools import TOOLS, detect_tool, parse_tool_output


@pytest.mark.parametrize(
    ("command", "tool"),
    [
        ("ruff check .", "ruff"),
        ("ruff", "ruff"),
        ("ruff format --check src", "ruff"),
        ("python -m ruff check .", "ruff"),
        ("/conveyor/env/bin/ruff check --output-format=github .", "ruff"),
        ("uv run --frozen ruff check", "ruff"),
        ("FORCE_COLOR=0 ruff check .", "ruff"),
        ("ruff check . && ruff format --check .", "ruff"),
        ("ruff check . | tee ruff.log", "ruff"),
        ("pip install -e . && mypy pkg", "mypy"),
        ("bash -c 'flake8 src'", "flake8"),
        ("flake8 src", "flake8"),
        ("python3 -m flake8 --format=default", "flake8"),
        ("poetry run flake8", "flake8"),
        ("mypy --strict pkg", "mypy"),
        ("python3.11 -m mypy .", "mypy"),
        ("dmypy run -- pkg", "mypy"),
        ("pre-commit run --all-files", "pre-commit"),
        ("pre-commit", "pre-commit"),
        ("python -m pre_commit run -a", "pre-commit"),
        ('python "$CONVEYOR_HELPERS/conveyor_pre_commit.py" run --all-files', "pre-commit"),
        ("python -m unittest", "unittest"),
        ("python -m unittest discover -v", "unittest"),
        ("python -m unittest tests.test_x", "unittest"),
        ("python -W error -m unittest -v", "unittest"),
        ("python -munittest", "unittest"),
        ("coverage run --branch -m unittest discover", "unittest"),
        ("python -m coverage run -m unittest", "unittest"),
        ("ruff check 'unbalanced", "ruff"),  # not shell syntax: read word by word
    ],
)
def test_detects_the_tool(command: str, tool: str) -> None:
    assert detect_tool(command) == tool


@pytest.mark.parametrize(
    "command",
    [
        "pytest",
        "python -m pytest -q",
        "tox -e lint",
        "python setup.py test",
        "pre-commit install",
        'python "$CONVEYOR_HELPERS/conveyor_pre_commit.py" install-hooks',
        "python other_script.py run",
        "dmypy status",
        "cd src && mypy .",  # paths would be relative to src/
        "ruff check . && mypy .",  # two tools' output in one text
        "make lint",
        "coverage run -m pytest",
        "coverage report",
        "",
    ],
)
def test_other_commands_are_not_read(command: str) -> None:
    assert detect_tool(command) is None
    assert parse_tool_output(command, "x.py:1:1: E999 SyntaxError: nope\n") is None


@pytest.mark.parametrize(
    ("program", "tool"), [(p, tool.name) for tool in TOOLS for p in tool.programs]
)
def test_every_program_of_the_registry_is_its_tool(program: str, tool: str) -> None:
    # A tool is one module and one line in TOOLS: nothing else names its programs.
    assert detect_tool(f"{program} run") == tool
    report = parse_tool_output(f"{program} run", "")
    assert report is not None
    assert report.tool == tool
