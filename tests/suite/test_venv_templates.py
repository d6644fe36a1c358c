"""app/suite/venv_templates.py: one venv made per interpreter, a copy of it for each environment."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from app.suite.pythons import discover
from app.suite.venv_templates import VENV, VenvTemplates
from tests.suite.sandboxed import World, check, make_runner

[PYTHON, *_] = discover()
TARGET = "/conveyor/env/venv"


class Maker:
    """Makes a real venv (without pip: quicker, and enough to copy) and counts the times."""

    def __init__(self, *, works: bool = True) -> None:
        self.made = 0
        self.works = works

    async def __call__(self, folder: Path) -> bool:
        self.made += 1
        if not self.works:
            return False
        command = [sys.executable, "-m", "venv", "--without-pip", str(folder / VENV)]
        await asyncio.to_thread(subprocess.run, command, check=True)
        return True


async def test_a_template_is_made_once_and_each_environment_gets_a_copy_of_its_own(
    tmp_path: Path,
) -> None:
    templates = VenvTemplates(tmp_path / "templates")
    make = Maker()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    assert await templates.copy_into(PYTHON, TARGET, first, make)
    assert await templates.copy_into(PYTHON, TARGET, second, make)

    assert make.made == 1
    for copy in (first, second):
        assert (copy / VENV / "pyvenv.cfg").is_file()
        assert (copy / VENV / "bin" / "python").is_symlink()  # links copied as links
    # A copy is not the template: what one environment's installs change, no other sees.
    (first / VENV / "pyvenv.cfg").write_text("changed\n")
    assert (second / VENV / "pyvenv.cfg").read_text() != "changed\n"
    third = tmp_path / "third"
    third.mkdir()
    assert await templates.copy_into(PYTHON, TARGET, third, make)
    assert (third / VENV / "pyvenv.cfg").read_text() != "changed\n"


async def test_runs_at_once_make_one_template(tmp_path: Path) -> None:
    templates = VenvTemplates(tmp_path / "templates")
    make = Maker()
    folders = [tmp_path / f"env-{n}" for n in range(3)]
    for folder in folders:
        folder.mkdir()

    copied = await asyncio.gather(
        *(templates.copy_into(PYTHON, TARGET, folder, make) for folder in folders)
    )

    assert copied == [True, True, True]
    assert make.made == 1


async def test_when_none_can_be_made_nothing_is_kept_and_the_next_run_tries_again(
    tmp_path: Path,
) -> None:
    root = tmp_path / "templates"
    templates = VenvTemplates(root)
    folder = tmp_path / "env"
    folder.mkdir()

    assert not await templates.copy_into(PYTHON, TARGET, folder, Maker(works=False))
    assert list(root.iterdir()) == []  # no half-made template left
    assert not (folder / VENV).exists()
    make = Maker()
    assert await templates.copy_into(PYTHON, TARGET, folder, make)
    assert make.made == 1


def test_each_interpreter_and_venv_path_has_its_own_template() -> None:
    key = VenvTemplates.key(PYTHON, TARGET)
    assert VenvTemplates.key(PYTHON, "/elsewhere/venv") != key
    other = [p for p in discover() if p.executable != PYTHON.executable]
    if other:
        assert VenvTemplates.key(other[0], TARGET) != key


async def test_environments_built_in_the_sandbox_start_from_the_template(tmp_path: Path) -> None:
    """The first environment makes the template in the sandbox; the next, for other install
    commands, is a copy of it, whose pip works where the venv is."""
    world = World(tmp_path, make_runner(tmp_path))  # templates of its own, none made yet
    first, log = await world.run(check(install=("true",)))
    assert first.returncode == 0, log
    assert "made once for every environment" in log

    second, log = await world.run(check(install=("python -m pip --version",)))

    assert second.returncode == 0, log
    assert "made once" not in log
    assert "-m venv" not in log
    assert "a fresh venv for Python" in log
    assert f"{TARGET}/lib/python" in log  # pip runs from the copied venv
