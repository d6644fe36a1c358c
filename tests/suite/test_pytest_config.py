"""app/suite/pytest_config.py: pytest's own configuration, found and read as pytest reads it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.suite.plan import ConfigError
from app.suite.project import DEFAULT_NORECURSEDIRS, DEFAULT_PYTHON_FILES
from app.suite.pytest_config import PytestConfig, read_pytest_config
from tests.suite.projects import write


def test_without_a_configuration_pytest_s_defaults(tmp_path: Path) -> None:
    write(tmp_path, {"setup.cfg": "[metadata]\nname = x\n", "tox.ini": "[tox]\nenvlist = py\n"})
    config = read_pytest_config(tmp_path)
    assert config == PytestConfig()
    assert not config.found
    assert config.python_files == DEFAULT_PYTHON_FILES
    assert config.testpaths == ()
    assert config.norecursedirs == DEFAULT_NORECURSEDIRS


@pytest.mark.parametrize(
    ("files", "source"),
    [
        ({"pytest.ini": ""}, "pytest.ini [pytest]"),  # even empty, it is pytest's
        ({".pytest.ini": "[pytest]\n"}, ".pytest.ini [pytest]"),
        ({"pytest.toml": "[pytest]\n"}, "pytest.toml [pytest]"),
        ({".pytest.toml": "[pytest]\n"}, ".pytest.toml [pytest]"),
        (
            {"pyproject.toml": "[tool.pytest.ini_options]\n"},
            "pyproject.toml [tool.pytest.ini_options]",
        ),
        ({"pyproject.toml": "[tool.pytest]\n"}, "pyproject.toml [tool.pytest]"),
        ({"tox.ini": "[pytest]\n"}, "tox.ini [pytest]"),
        ({"setup.cfg": "[tool:pytest]\n"}, "setup.cfg [tool:pytest]"),
    ],
)
def test_each_file_pytest_reads(tmp_path: Path, files: dict[str, str], source: str) -> None:
    write(tmp_path, files)
    config = read_pytest_config(tmp_path)
    assert config.source == source
    assert config.found
    assert config.python_files == DEFAULT_PYTHON_FILES  # nothing set: the defaults


def test_the_first_file_in_pytest_s_order_wins(tmp_path: Path) -> None:
    order = [
        ("setup.cfg", "[tool:pytest]\ntestpaths = f\n"),
        ("tox.ini", "[pytest]\ntestpaths = e\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["d"]\n'),
        (".pytest.toml", '[pytest]\ntestpaths = ["c"]\n'),
        ("pytest.toml", '[pytest]\ntestpaths = ["b"]\n'),
        (".pytest.ini", "[pytest]\ntestpaths = a2\n"),
        ("pytest.ini", "[pytest]\ntestpaths = a\n"),
    ]
    seen = []
    for name, text in order:
        write(tmp_path, {name: text})
        seen.append(read_pytest_config(tmp_path).testpaths)
    assert seen == [("f",), ("e",), ("d",), ("c",), ("b",), ("a2",), ("a",)]


def test_pyproject_s_ini_options_win_over_its_native_table(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.pytest]\ntestpaths = ["native"]\n'
            '[tool.pytest.ini_options]\ntestpaths = ["legacy"]\n'
        },
    )
    assert read_pytest_config(tmp_path).testpaths == ("legacy",)


def test_a_file_not_for_pytest_is_passed_over(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.toml": "[tool.other]\n",  # no [pytest] table
            "tox.ini": "[tox]\n",
            "setup.cfg": "[tool:pytest]\npython_files = check_*.py\n",
        },
    )
    assert read_pytest_config(tmp_path).python_files == ("check_*.py",)


def test_ini_values_split_as_pytest_splits_them(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\npython_files =\n    test_*.py\n    'check me_*.py'\n"
            "testpaths = tests docs\nnorecursedirs = 'unclosed *.egg\n"
        },
    )
    config = read_pytest_config(tmp_path)
    assert config.python_files == ("test_*.py", "check me_*.py")
    assert config.testpaths == ("tests", "docs")
    # An unclosed quote: pytest refuses it; read plainly rather than fail the plan.
    assert config.norecursedirs == ("'unclosed", "*.egg")


def test_toml_values_are_lists_or_strings_and_anything_else_is_the_default(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[tool.pytest.ini_options]\n"
            'python_files = "test_*.py  it_*.py"\n'
            "testpaths = [1, 2]\n"
            "norecursedirs = []\n"
        },
    )
    config = read_pytest_config(tmp_path)
    assert config.python_files == ("test_*.py", "it_*.py")
    assert config.testpaths == ()
    assert config.norecursedirs == DEFAULT_NORECURSEDIRS


def test_a_file_leading_outside_counts_as_none(tmp_path: Path) -> None:
    outside = tmp_path / "outside.ini"
    outside.write_text("[pytest]\ntestpaths = stolen\n")
    root = tmp_path / "repo"
    write(root, {"setup.cfg": "[tool:pytest]\ntestpaths = tests\n"})
    os.symlink(outside, root / "pytest.ini")
    assert read_pytest_config(root).source == "setup.cfg [tool:pytest]"


def test_an_invalid_pyproject_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.pytest\n"})
    with pytest.raises(ConfigError) as raised:
        read_pytest_config(tmp_path)
    assert raised.value.path == "pyproject.toml"
    assert raised.value.line == 1
