"""app/commands/demo.py, `python -m app demo`: what stops it is said in one line with exit code
2, and the sample project tells the story the demo prints (main passes, the pull request breaks
one test); the whole walk-through (two real runs, some 15 s) prints the verdict as text and the
links to the pages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from app.commands.demo import PULL_REQUEST_CHANGE, SAMPLE_FILES
from tests.commands.launch import ROOT


def test_a_taken_port_stops_the_demo_with_one_line_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app", "demo", "--port", str(port)],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    # One line: the service it started is stopped too (no "Unclosed client session").
    [line] = result.stderr.splitlines()
    assert line.startswith(f"conveyor demo: cannot listen on port {port}: "), line
    assert line.lower().endswith("address already in use; try --port"), line
    assert list(tmp_path.glob("conveyor-demo-*")) == []


def pytest_on(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_sample_passes_on_main_and_the_pull_request_breaks_mean(tmp_path: Path) -> None:
    project = tmp_path / "calculator"
    project.mkdir()
    for name, content in SAMPLE_FILES.items():
        (project / name).write_text(content)
    on_main = pytest_on(project)
    assert on_main.returncode == 0, on_main.stdout
    assert "2 passed" in on_main.stdout

    for name, content in PULL_REQUEST_CHANGE.items():
        (project / name).write_text(content)
    on_pull_request = pytest_on(project)
    assert on_pull_request.returncode == 1, on_pull_request.stdout
    failed = [line for line in on_pull_request.stdout.splitlines() if line.startswith("FAILED")]
    assert failed == ["FAILED test_calculator.py::test_mean - assert 2 == 2.5"]
    assert "1 failed, 1 passed" in on_pull_request.stdout


def test_the_walk_through_prints_the_verdict_as_text_and_the_pages_links(tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--port", str(port), "--no-serve"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "✖ tests: failure — 1 test failed" in out
    assert "**" not in out  # the summary's Markdown is shown as text
    assert "test_mean" in out
    service = f"http://127.0.0.1:{port}"
    for link in (
        f"{service}/runs/",
        f"{service}/octo-org/calculator\n",
        f"{service}/octo-org/calculator/badge.svg?branch=main",
        f"{service}/\n",
    ):
        assert link in out, out
    assert list(tmp_path.glob("conveyor-demo-*")) == []
