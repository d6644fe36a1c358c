"""app/suite/dependencies.py: requirements files, dependency groups and extras, read as pip
reads them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.suite.dependencies import (
    Requirements,
    choose_set,
    dependency_groups,
    extras,
    find_test_requirements,
    normalize,
    read_requirements,
    requirement_name,
    requirement_names,
)
from app.suite.project import read_project
from tests.suite.projects import write


def test_names_are_normalized_as_pep_503_says() -> None:
    assert normalize("Foo__Bar.baz-QUX") == "foo-bar-baz-qux"
    assert requirement_name("PyYAML>=6 ; python_version > '3.8'") == "pyyaml"
    assert requirement_name("  zope.interface[test]==5") == "zope-interface"
    assert requirement_name("-e .") is None
    assert requirement_name("") is None
    assert requirement_names(["pytest>=8", "Pytest_Cov", "# comment", "--hash=x"]) == {
        "pytest",
        "pytest-cov",
    }


def test_requirements_are_followed_through_their_includes(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements/test.txt": (
                "-r base.txt  # the base\n"
                "--constraint=../constraints.txt\n"
                "pytest>=8 # runner\n"
                "-e .\n"
                "./local-wheel.whl\n"
                "/abs/path.whl\n"
                "--index-url https://example.invalid\n"
                "# a comment\n"
                "\n"
                "-r test.txt\n"  # a cycle: read once
            ),
            "requirements/base.txt": "Requests[socks]\n",
            "constraints.txt": "urllib3<3\n",
        },
    )
    assert read_requirements(tmp_path, "requirements/test.txt") == Requirements(
        files=("requirements/test.txt", "requirements/base.txt", "constraints.txt"),
        names=frozenset({"pytest", "requests", "urllib3"}),
    )


def test_requirements_outside_the_repository_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("stolen\n")
    root = tmp_path / "repo"
    write(root, {"test.txt": "-r ../outside.txt\n-r /etc/passwd\n-r linked.txt\n-r gone.txt\nok\n"})
    os.symlink(outside, root / "linked.txt")
    assert read_requirements(root, "test.txt") == Requirements(("test.txt",), frozenset({"ok"}))
    assert read_requirements(root, "gone.txt") == Requirements((), frozenset())


@pytest.mark.parametrize(
    ("files", "chosen"),
    [
        (["requirements-dev.txt", "requirements-test.txt"], "requirements-test.txt"),
        (
            ["requirements/dev.txt", "requirements/tests.in", "requirements/tests.txt"],
            "requirements/tests.txt",
        ),
        (["reqs/testing.in"], "reqs/testing.in"),
        (["requirements/docs.txt", "tests/requirements.txt"], "tests/requirements.txt"),
        (["dev-requirements.txt"], "dev-requirements.txt"),
        # At the root a file must say it is a requirements file.
        (["test.txt", "dev.txt"], None),
        (["requirements.txt", "requirements/docs.txt"], None),
    ],
)
def test_the_requirements_file_for_tests(
    tmp_path: Path, files: list[str], chosen: str | None
) -> None:
    write(tmp_path, dict.fromkeys(files, "pytest\n"))
    assert find_test_requirements(tmp_path) == chosen


def test_a_requirements_folder_linked_outside_is_not_listed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, {"test.txt": "pytest\n"})
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside, root / "requirements")
    assert find_test_requirements(root) is None


def test_dependency_groups_expand_their_includes() -> None:
    pyproject = {
        "dependency-groups": {
            "Test_Suite": ["pytest", {"include-group": "typing"}],
            "typing": ["mypy", {"include-group": "test-suite"}],  # a cycle: pip's to report
            "lint": "not a list",
            "docs": [{"include-group": 3}, {"other": "x"}, 7, "sphinx"],
        }
    }
    assert dependency_groups(pyproject) == {
        "test-suite": ["pytest", "mypy"],
        "typing": ["mypy", "pytest"],
        "docs": ["sphinx"],
    }
    assert dependency_groups({}) == {}
    assert dependency_groups({"dependency-groups": []}) == {}


def test_extras_from_each_place_a_project_declares_them(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project.optional-dependencies]\nTest = ["pytest"]\nbad = "x"\n',
            "setup.cfg": (
                "[options.extras_require]\ntest = nose\nyaml =\n    pyyaml\n    ruamel.yaml\n"
            ),
            "setup.py": (
                "from setuptools import setup\n"
                "setup(extras_require={'dates': ['python-dateutil'], 'computed': compute(),"
                " 5: ['x']})\n"
            ),
        },
    )
    # pyproject.toml first, then setup.cfg, then setup.py (never run), the first one winning.
    assert extras(read_project(tmp_path)) == {
        "test": ["pytest"],
        "yaml": ["pyyaml", "ruamel.yaml"],
        "dates": ["python-dateutil"],
        "computed": [],
    }


def test_the_test_set_chosen_is_the_first_bringing_pytest() -> None:
    sets = {"dev": ["pytest", "black"], "test": ["coverage"], "tests": ["pytest>=8"]}
    assert choose_set(sets) == "tests"
    assert choose_set({"dev": ["black"], "testing": ["coverage"]}) == "testing"
    assert choose_set({"docs": ["pytest"]}) is None
    assert choose_set({}) is None
