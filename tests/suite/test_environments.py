"""Environment cache bookkeeping: keys, publishing, reuse, pruning."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from app.suite.environments import READY, EnvironmentCache, environment_key


def key(project: Path, **changes: object) -> str:
    values: dict[str, object] = {
        "python": "/usr/bin/python3.11",
        "install": ("pip install -e .[test]",),
        "env": (),
        "dependency_files": ("pyproject.toml", "requirements.txt"),
        "project": project,
    }
    values.update(changes)
    return environment_key(**values)  # type: ignore[arg-type]


def test_the_key_follows_dependencies_not_test_code(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    first = key(tmp_path)
    (tmp_path / "test_new.py").write_text("def test(): pass\n")
    assert key(tmp_path) == first  # new test code: same environment
    (tmp_path / "requirements.txt").write_text("pytest\n")
    with_requirements = key(tmp_path)
    assert with_requirements != first  # a dependency file appeared
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\ndependencies = ['a']\n")
    assert key(tmp_path) != with_requirements
    assert key(tmp_path, python="/usr/bin/python3.12") != key(tmp_path)
    assert key(tmp_path, install=("pip install .",)) != key(tmp_path)
    assert key(tmp_path, env=(("A", "1"),)) != key(tmp_path)


async def test_a_published_build_is_found_and_a_failed_one_is_not(tmp_path: Path) -> None:
    cache = EnvironmentCache(tmp_path / "envs")
    assert cache.lookup("repo", "k1") is None
    async with cache.building("repo", "k1") as build:
        (build.folder / "venv").mkdir()
        published = build.publish()
    assert published == cache.lookup("repo", "k1")
    assert (published / "venv").is_dir()

    async def failed_build() -> None:
        async with cache.building("repo", "k2") as build:
            (build.folder / "half").mkdir()
            raise RuntimeError("pip failed")

    with pytest.raises(RuntimeError):
        await failed_build()
    assert cache.lookup("repo", "k2") is None
    assert [p.name for p in (tmp_path / "envs" / "repo").iterdir()] == ["k1"]


async def test_builds_of_one_key_wait_for_each_other(tmp_path: Path) -> None:
    cache = EnvironmentCache(tmp_path / "envs")
    order: list[str] = []

    async def build(name: str) -> None:
        async with cache.building("repo", "same") as b:
            if cache.lookup("repo", "same") is not None:
                order.append(f"{name} reused")
                return
            order.append(f"{name} builds")
            await asyncio.sleep(0.05)
            b.publish()

    await asyncio.gather(build("a"), build("b"))
    assert order == ["a builds", "b reused"]


async def test_pruning_keeps_the_most_recently_used(tmp_path: Path) -> None:
    builder = EnvironmentCache(tmp_path / "envs", keep_per_repository=3)
    for number in range(3):
        async with builder.building("repo", f"k{number}") as build:
            build.publish()
        os.utime(tmp_path / "envs" / "repo" / f"k{number}" / READY, (number, number))
    cache = EnvironmentCache(tmp_path / "envs", keep_per_repository=2)
    cache.lookup("repo", "k0")  # used just now
    cache.prune("repo")
    left = sorted(p.name for p in (tmp_path / "envs" / "repo").iterdir())
    assert left == ["k0", "k2"]
    # Marked used by the lookup: no longer the second 0 it was given above.
    assert (tmp_path / "envs/repo/k0" / READY).stat().st_mtime > 2


async def test_a_throwaway_folder_is_removed_after_its_run_and_if_abandoned(
    tmp_path: Path,
) -> None:
    cache = EnvironmentCache(tmp_path)
    abandoned = tmp_path / ".throwaway" / f"{int(time.time()) - 3 * 86400}-killed"
    recent = tmp_path / ".throwaway" / f"{int(time.time()) - 3600}-running"
    for folder in (abandoned, recent):
        (folder / "venv").mkdir(parents=True)
    async with cache.throwaway() as folder:
        (folder / "planted").write_text("x")
        assert cache.lookup("repo", folder.name) is None  # nobody else finds it
        assert not abandoned.exists()  # a killed process's, older than any run
        assert recent.exists()  # another run's, maybe still going
    assert not folder.exists()


async def test_publishing_writes_nothing_through_links_the_install_planted(
    tmp_path: Path,
) -> None:
    canary = tmp_path / "canary"
    canary.write_text("host file\n")
    cache = EnvironmentCache(tmp_path / "envs")
    async with cache.building("repo", "k") as build:
        # What install commands can reach is the environment folder alone: every name the
        # service uses, planted there as a link to a host file.
        for name in (READY, ".conveyor-ready"):
            (build.folder / name).symlink_to(canary)
        published = build.publish()
    assert canary.read_text() == "host file\n"
    assert cache.lookup("repo", "k") == published
    os.utime(canary, (1, 1))
    cache.lookup("repo", "k")  # marks the environment used: the marker, not the link
    assert canary.stat().st_mtime == 1


def test_a_marker_that_is_a_link_is_no_marker(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text("x")
    (tmp_path / "envs" / "repo" / "k" / "env").mkdir(parents=True)
    (tmp_path / "envs" / "repo" / "k" / READY).symlink_to(canary)
    assert EnvironmentCache(tmp_path / "envs").lookup("repo", "k") is None


async def test_pruning_removes_earlier_layouts_and_abandoned_builds(tmp_path: Path) -> None:
    repo = tmp_path / "envs" / "repo"
    old_layout = repo / "0123456789abcdef"
    (old_layout / "venv").mkdir(parents=True)
    (old_layout / ".conveyor-ready").write_text("{}")
    abandoned = repo / ".k.building-dead"
    (abandoned / "env").mkdir(parents=True)
    os.utime(abandoned, (1, 1))
    running = repo / ".k.building-live"
    (running / "env").mkdir(parents=True)
    cache = EnvironmentCache(tmp_path / "envs")
    async with cache.building("repo", "new") as build:
        build.publish()
    assert sorted(p.name for p in repo.iterdir()) == [".k.building-live", "new"]


def test_the_key_reads_no_file_through_a_link_out_of_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").symlink_to("/dev/zero")  # would be read without end
    (project / "pyproject.toml").symlink_to("/etc/passwd")
    linked = key(project)  # returns at once (the links are not read)
    assert key(project) == linked
    (project / "requirements.txt").unlink()
    (project / "requirements.txt").write_text("pytest\n")
    assert key(project) != linked
