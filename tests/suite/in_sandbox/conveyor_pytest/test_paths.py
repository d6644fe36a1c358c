"""app/suite/in_sandbox/conveyor_pytest/paths.py: the repository root, and which files are the
project's (as repository-relative "/" paths). (From a subfolder in a real pytest run:
tests/suite/in_sandbox/test_conveyor_pytest.py.)"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import pytest

from app.suite.in_sandbox.conveyor_pytest.paths import Paths, is_under, location, repository_root

if TYPE_CHECKING:
    from _pytest.config import Config


def config_of(invoked_in: Path, rootpath: Path) -> Config:
    """What repository_root reads of pytest's Config: where pytest was started, its rootdir."""
    return cast(
        "Config",
        SimpleNamespace(invocation_params=SimpleNamespace(dir=invoked_in), rootpath=rootpath),
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CONVEYOR_ROOT", raising=False)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    (tmp_path / "repo" / "backend" / "tests").mkdir(parents=True)
    return tmp_path / "repo"


def test_the_root_is_the_nearest_folder_above_holding_git(repo: Path) -> None:
    (repo / ".git").mkdir()
    config = config_of(repo / "backend" / "tests", rootpath=repo / "backend")
    assert repository_root(config) == str(repo)


def test_without_git_the_root_is_the_outermost_of_invocation_and_rootdir(repo: Path) -> None:
    backend, tests = repo / "backend", repo / "backend" / "tests"
    # `cd tests && pytest` with the ini file above: the rootdir.
    assert repository_root(config_of(tests, rootpath=backend)) == str(backend)
    # An ini file below where pytest started: where it started.
    assert repository_root(config_of(backend, rootpath=tests)) == str(backend)


def test_conveyor_root_wins_when_absolute(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / ".git").mkdir()
    config = config_of(repo / "backend", rootpath=repo / "backend")
    monkeypatch.setenv("CONVEYOR_ROOT", f"{repo}/backend/../backend/")
    assert repository_root(config) == str(repo / "backend")
    monkeypatch.setenv("CONVEYOR_ROOT", "backend")  # relative: to nothing known, so ignored
    assert repository_root(config) == str(repo)


def test_a_project_file_is_relative_with_slashes(repo: Path) -> None:
    paths = Paths(str(repo))
    assert (
        paths.relative(str(repo / "backend" / "tests" / "test_a.py")) == "backend/tests/test_a.py"
    )
    assert paths.relative(str(repo / "backend" / ".." / "setup.py")) == "setup.py"


def test_what_is_not_a_project_file_has_no_path(repo: Path) -> None:
    paths = Paths(str(repo))
    assert paths.relative(str(repo)) is None
    assert paths.relative(str(repo.parent / "elsewhere.py")) is None
    assert paths.relative(str(repo) + "-other/x.py") is None
    assert paths.relative("<string>") is None
    assert paths.relative("<frozen importlib._bootstrap>") is None
    assert paths.relative("") is None
    for installed in ("venv/lib/x.py", ".tox/py/lib/site-packages/y.py", ".venv/z.py"):
        assert paths.relative(str(repo / installed)) is None, installed
    assert paths.relative(pytest.__file__) is None


def test_a_link_to_the_root_finds_the_same_files(repo: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(repo)
    through_link = Paths(str(link))
    assert through_link.relative(str(repo / "backend" / "a.py")) == "backend/a.py"
    assert through_link.relative(str(link / "backend" / "a.py")) == "backend/a.py"


def test_an_environment_inside_the_repository_is_not_the_project_one_around_it_is(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", str(repo / "env"))
    assert Paths(str(repo)).relative(str(repo / "env" / "lib" / "x.py")) is None
    monkeypatch.setenv("VIRTUAL_ENV", str(repo.parent))
    assert Paths(str(repo)).relative(str(repo / "backend" / "a.py")) == "backend/a.py"


def test_is_under_is_by_whole_folder_names() -> None:
    assert is_under("/a/b", "/a")
    assert is_under("/a", "/a")
    assert is_under("/a/b", "/a/")
    assert not is_under("/ab", "/a")
    assert is_under(os.sep + "x", os.sep)


def test_location_is_the_tests_def_one_based(repo: Path) -> None:
    report = pytest.TestReport(
        "backend/test_a.py::test_a", ("backend/test_a.py", 4, "test_a"), {}, "failed", None, "call"
    )
    paths = Paths(str(repo))
    assert location(report, str(repo), paths) == ("backend/test_a.py", 5)
    assert location(report, str(repo.parent / "elsewhere"), paths) == (None, None)
    assert location(object(), str(repo), paths) == (None, None)
