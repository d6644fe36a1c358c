"""What both tox readers share: commands sorted for the install and test steps, changedir kept
inside the repository, deps as pip's arguments."""

from __future__ import annotations

from app.suite.tox_env import Commands, dep_args, relative_changedir


def test_commands_that_install_packages_are_set_apart() -> None:
    commands = Commands([])
    commands.add("pip install -e .")
    commands.add("- pytest -q")  # tox ignores its failure
    commands.key = "commands_post"
    commands.add("coverage report")
    assert commands.install == ["python -m pip install -e ."]
    assert commands.test == ["pytest -q || true", "coverage report"]
    assert commands.post == ["coverage report"]
    assert commands.problems == []


def test_commands_that_cannot_be_written_down_are_problems() -> None:
    problems: list[str] = []
    commands = Commands(problems)
    commands.add("!false")
    commands.add("echo 'x")
    assert problems == ["an inverted command (`!`)", "unbalanced quotes in `echo 'x`"]


def test_changedir_is_relative_to_the_root_and_inside_it() -> None:
    assert relative_changedir([], []) == ""
    assert relative_changedir(["."], []) == ""
    assert relative_changedir(["tests/./unit/"], []) == "tests/unit"
    problems: list[str] = []
    assert relative_changedir(["../x"], problems) == ""
    assert problems == ["`changedir = ../x`, outside the repository"]


def test_deps_keep_pip_s_own_spelling() -> None:
    assert dep_args("-r requirements.txt") == ["-r", "requirements.txt"]
    assert dep_args("-rrequirements.txt") == ["-rrequirements.txt"]
    assert dep_args("Django>=4.2, <5") == ["Django>=4.2, <5"]
