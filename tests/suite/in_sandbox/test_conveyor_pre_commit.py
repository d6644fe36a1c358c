"""app/suite/in_sandbox/conveyor_pre_commit.py, run as the check runs it (`python
conveyor_pre_commit.py install-hooks`, then `... run ARGS`), with the real pre-commit, in a
virtualenv of the test's own (the install puts the wrapper in place of its `pre-commit`), outside
the sandbox: a hook repository whose host cannot be reached is named, the others still run.
(Through the runner in the sandbox: tests/suite/test_pre_commit.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

import app.suite.in_sandbox.conveyor_pre_commit as wrapper
from app.suite.in_sandbox.conveyor_pre_commit import (
    SAID,
    host_of,
    runs_uv,
    unreachable,
    uv_project_settings,
)

HELPERS = Path(wrapper.__file__).parent
LOCAL = """\
  - repo: local
    hooks:
      - id: no-x
        name: no x
        entry: python no_x.py
        language: system
        types: [python]
  - repo: meta
    hooks:
      - id: check-hooks-apply
      - id: check-useless-excludes
"""
NO_X = """\
import sys

found = 0
for path in sys.argv[1:]:
    for number, line in enumerate(open(path), 1):
        if "X" * 3 in line:
            print(f"{path}:{number}: {line}", end="")
            found = 1
sys.exit(found)
"""
UNREACHABLE = """\
  - repo: https://hooks.unreachable.invalid/owner/hooks
    rev: v1.0.0
    hooks:
      - id: its-hook
      - id: its-other-hook
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv that sees this one's packages (pre-commit, PyYAML) through a .pth file."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    [site] = folder.glob("lib/python*/site-packages")
    (site / "outer.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return folder


class Project:
    def __init__(self, root: Path, venv: Path) -> None:
        self.root = root
        self.venv = venv
        self.home = root.parent / "pre-commit-home"
        self.incomplete = root.parent / "incomplete"
        self.env = {
            "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
            "HOME": str(root.parent),
            "VIRTUAL_ENV": str(venv),
            "PRE_COMMIT_HOME": str(self.home),
            "CONVEYOR_INCOMPLETE": str(self.incomplete),
            "CONVEYOR_HELPERS": str(HELPERS),
            "GIT_CONFIG_NOSYSTEM": "1",
            "PYTHONUNBUFFERED": "1",  # as the runner sets it: the lines in the order written
        }

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            (self.root / name).write_text(text)
        self.git("add", "-A")

    def git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.root, env=self.env, check=True, capture_output=True)

    def wrapper(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "python"), str(HELPERS / "conveyor_pre_commit.py"), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture
def project(tmp_path: Path, venv: Path) -> Iterator[Project]:
    root = tmp_path / "repo"
    root.mkdir()
    made = Project(root, venv)
    made.git("init", "-q")
    (root / "no_x.py").write_text(NO_X)
    yield made
    (venv / "bin" / "pre-commit").unlink(missing_ok=True)


def test_all_hooks_installed_is_pre_commit_s_own_install(project: Project) -> None:
    project.write({".pre-commit-config.yaml": "repos:\n" + LOCAL, "code.py": "ok = 1\n"})
    installed = project.wrapper("install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert SAID not in installed.stdout
    assert not project.incomplete.exists()
    # The environment's `pre-commit` is the wrapper now.
    command = (project.venv / "bin" / "pre-commit").read_text()
    assert command.startswith("#!/bin/sh\n")
    assert '"$CONVEYOR_HELPERS/conveyor_pre_commit.py" "$@"' in command
    ran = subprocess.run(
        ["pre-commit", "run", "--all-files"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "no x" in ran.stdout
    assert SAID not in ran.stdout
    # A hook's failure is the run's.
    project.write({"code.py": "XXX = 1\n"})
    failed = project.wrapper("run", "--all-files")
    assert failed.returncode == 1
    assert "code.py:1: XXX = 1" in failed.stdout


def test_an_unreachable_repository_is_left_out_named_and_fails_the_run(project: Project) -> None:
    project.write(
        {".pre-commit-config.yaml": "repos:\n" + UNREACHABLE + LOCAL, "code.py": "ok = 1\n"}
    )
    installed = project.wrapper("install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"{SAID} hooks.unreachable.invalid unreachable" in installed.stdout
    assert project.incomplete.read_text() == "pre-commit hooks not fetched\n"
    ours = project.home / "conveyor"
    assert json.loads((ours / "missing.json").read_text()) == [
        {
            "repo": "https://hooks.unreachable.invalid/owner/hooks",
            "rev": "v1.0.0",
            "hooks": "its-hook, its-other-hook",
            "host": "hooks.unreachable.invalid",
        }
    ]
    fetched = json.loads((ours / "fetched.yaml").read_text())
    assert [r["repo"] for r in fetched["repos"]] == ["local", "meta"]
    # check-hooks-apply reads every repository's manifest: left out with them.
    assert [h["id"] for h in fetched["repos"][1]["hooks"]] == ["check-useless-excludes"]

    ran = project.wrapper("run", "--all-files")
    lines = ran.stdout.splitlines()
    assert lines[:3] == [
        f"{SAID} hooks.unreachable.invalid unreachable",
        "conveyor:   https://hooks.unreachable.invalid/owner/hooks v1.0.0, not run: "
        "its-hook, its-other-hook",
        "conveyor: running the other hooks (check-hooks-apply left out: it needs every repository)",
    ]
    assert "no x" in ran.stdout  # the hooks that are there ran, and passed
    assert ran.returncode == 1  # hooks that did not run did not pass


def test_a_repository_fetched_but_not_installable_fails_the_install(
    project: Project, tmp_path: Path
) -> None:
    not_a_repository = tmp_path / "not-a-repository"
    not_a_repository.mkdir()
    config = f"  - repo: {not_a_repository}\n    rev: v1\n    hooks:\n      - id: x\n"
    project.write({".pre-commit-config.yaml": "repos:\n" + config + UNREACHABLE + LOCAL})
    installed = project.wrapper("install-hooks")
    assert installed.returncode != 0
    assert f"the hooks of {not_a_repository} could not be installed" in installed.stdout
    assert not project.incomplete.exists()
    assert not (project.home / "conveyor" / "missing.json").exists()


def test_an_invalid_configuration_is_pre_commit_s_to_report(project: Project) -> None:
    project.write({".pre-commit-config.yaml": "repos: [\n"})
    installed = project.wrapper("install-hooks")
    assert installed.returncode != 0
    assert "conveyor:" not in installed.stdout
    assert not project.incomplete.exists()


def test_other_subcommands_go_to_pre_commit_itself(project: Project) -> None:
    shown = project.wrapper("--version")
    assert shown.returncode == 0
    assert shown.stdout.startswith("pre-commit ")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://github.com/psf/black", "github.com"),
        ("https://user@gitlab.example:8443/a/b.git", "gitlab.example"),
        ("git@github.com:psf/black", "github.com"),
        ("ssh://git@host.example/x", "host.example"),
        ("/local/path", "/local/path"),
        ("local", "local"),
    ],
)
def test_the_host_of_a_repository(url: str, host: str) -> None:
    assert host_of(url) == host


def test_unreachable_names_each_host_once_in_order() -> None:
    missing = [{"host": "b.example"}, {"host": "a.example"}, {"host": "b.example"}]
    assert unreachable(missing) == "a.example, b.example unreachable"


@pytest.mark.parametrize(
    ("config", "uses_uv"),
    [
        ("repos:\n  - repo: local\n    hooks:\n      - {id: a, entry: uv run ruff}\n", True),
        ("repos:\n  - repo: local\n    hooks:\n      - {id: a, entry: uvx ruff}\n", False),
        ("repos:\n  - repo: https://x/y\n    hooks:\n      - {id: a, entry: uv run y}\n", False),
        ("repos:\n  - repo: local\n    hooks: null\n", False),
        ("repos: [\n", False),
        ("just text\n", False),
    ],
)
def test_runs_uv_is_a_local_hook_s_uv_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, uses_uv: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runs_uv() is False  # no configuration
    (tmp_path / ".pre-commit-config.yaml").write_text(config)
    assert runs_uv() is uses_uv


def test_uv_s_settings_are_offline_and_frozen_in_the_test_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", "/conveyor/env/venv")
    install = uv_project_settings(offline=False)
    assert install == {
        "UV_PROJECT_ENVIRONMENT": "/conveyor/env/uv-project",
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_SYSTEM_CERTS": "1",
    }
    assert uv_project_settings(offline=True) == {**install, "UV_OFFLINE": "1", "UV_FROZEN": "1"}
