"""app/suite/project.py: the project's files read without running any of them, and the test
files pytest would collect."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from app.suite.plan import ConfigError
from app.suite.project import (
    CONVENTIONAL_DEPENDENCY_FILES,
    existing_dependency_files,
    find_tests,
    ini_list,
    literal_strings,
    parse_python,
    parse_toml,
    read_ini,
    read_project,
    read_toml,
    setup_call_kwargs,
    table,
)
from app.suite.pytest_config import PytestConfig
from tests.suite.projects import write

TEST = "def test_x():\n    pass\n"


# ---- reading files


def test_toml_absent_is_empty_and_invalid_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    assert read_toml(tmp_path, "pyproject.toml") == {}
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nversion = \n'})
    with pytest.raises(ConfigError) as raised:
        read_toml(tmp_path, "pyproject.toml")
    assert (raised.value.path, raised.value.line) == ("pyproject.toml", 3)
    assert raised.value.message.startswith("not valid TOML: ")


def test_toml_python_cannot_hold_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="a number is too long"):
        parse_toml("pyproject.toml", "n = " + "9" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_toml("pyproject.toml", "n = " + "[" * 100_000 + "]" * 100_000 + "\n")


def test_a_configuration_file_leading_outside_is_a_config_error(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('secret = "x"\n')
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside, root / "pyproject.toml")
    with pytest.raises(ConfigError) as raised:
        read_project(root)
    assert raised.value.path == "pyproject.toml"
    assert "secret" not in str(raised.value)


def test_table_walks_down_or_is_empty() -> None:
    data = {"tool": {"pytest": {"ini_options": {"a": 1}}, "flat": 3}}
    assert table(data, "tool", "pytest", "ini_options") == {"a": 1}
    assert table(data, "tool", "flat") == {}
    assert table(data, "tool", "flat", "deeper") == {}
    assert table(data, "missing", "x") == {}
    assert table(data) == data
    # A copy: changing it leaves the file's data alone.
    table(data, "tool")["new"] = 1
    assert "new" not in data["tool"]


def test_ini_keeps_case_and_braces_and_is_empty_when_unreadable(tmp_path: Path) -> None:
    assert read_ini(tmp_path, "setup.cfg") is None
    write(tmp_path, {"setup.cfg": "[tool:pytest]\nAddOpts = --x={envtmpdir} %(no)s\n"})
    parser = read_ini(tmp_path, "setup.cfg")
    assert parser is not None
    assert parser.get("tool:pytest", "AddOpts") == "--x={envtmpdir} %(no)s"
    write(tmp_path, {"setup.cfg": "no section header\n"})
    parser = read_ini(tmp_path, "setup.cfg")
    assert parser is not None
    assert parser.sections() == []


def test_setup_py_is_read_as_syntax_never_run(tmp_path: Path) -> None:
    assert parse_python(tmp_path, "setup.py") is None
    marker = tmp_path / "ran"
    write(
        tmp_path,
        {
            "setup.py": (
                f"open({str(marker)!r}, 'w').close()\n"
                "import setuptools\n"
                "setuptools.setup(name='x', install_requires=['a', 'b'], extras_require=X)\n"
            )
        },
    )
    module = parse_python(tmp_path, "setup.py")
    assert not marker.exists()
    kwargs = setup_call_kwargs(module)
    assert sorted(kwargs) == ["extras_require", "install_requires", "name"]
    assert literal_strings(kwargs["install_requires"]) == ["a", "b"]
    assert literal_strings(kwargs["extras_require"]) is None
    assert setup_call_kwargs(None) == {}
    assert setup_call_kwargs(ast.parse("other(name='x')")) == {}


@pytest.mark.parametrize("text", ["def (:\n", "-" * 1_000_000 + "1\n", "x = '\0'\n"])
def test_setup_py_that_does_not_parse_is_none(tmp_path: Path, text: str) -> None:
    write(tmp_path, {"setup.py": text})
    assert parse_python(tmp_path, "setup.py") is None


def test_literal_strings_only_for_lists_and_tuples_of_strings() -> None:
    def value(text: str) -> ast.expr:
        return ast.parse(text, mode="eval").body

    assert literal_strings(value("('a', 'b')")) == ["a", "b"]
    assert literal_strings(value("[]")) == []
    assert literal_strings(value("['a', 1]")) is None
    assert literal_strings(value("['a', name]")) is None
    assert literal_strings(value("'a'")) is None


def test_ini_list_splits_on_lines_and_commas() -> None:
    assert ini_list("\n  pytest>=8,\n  coverage , mock\n\n") == ["pytest>=8", "coverage", "mock"]
    assert ini_list("") == []


@pytest.mark.parametrize(
    ("files", "is_package"),
    [
        ({"pyproject.toml": "[build-system]\nrequires = []\n"}, True),
        ({"setup.py": "from setuptools import setup\nsetup()\n"}, True),
        ({"pyproject.toml": '[project]\nname = "x"\n'}, False),
        ({"pyproject.toml": '[project]\nname = "x"\n[tool.uv]\npackage = true\n'}, True),
        (
            {
                "pyproject.toml": "[build-system]\nrequires = []\n"
                "[tool.poetry]\npackage-mode = false\n"
            },
            False,
        ),
        ({}, False),
    ],
)
def test_is_package_is_whether_pip_can_install_it(
    tmp_path: Path, files: dict[str, str], is_package: bool
) -> None:
    write(tmp_path, files)
    assert read_project(tmp_path).is_package is is_package


def test_has_counts_regular_files_inside_only(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("x")
    root = tmp_path / "repo"
    write(root, {"uv.lock": "", "folder/x": ""})
    os.symlink(outside, root / "poetry.lock")
    project = read_project(root)
    assert project.has("uv.lock")
    assert not project.has("poetry.lock")
    assert not project.has("folder")
    assert not project.has("missing")


def test_existing_dependency_files_in_their_order(tmp_path: Path) -> None:
    write(tmp_path, {"uv.lock": "", "setup.cfg": "", "pyproject.toml": "", "other.lock": ""})
    os.mkdir(tmp_path / "tox.ini")  # a folder, not a file
    assert existing_dependency_files(tmp_path) == ("pyproject.toml", "setup.cfg", "uv.lock")
    assert set(existing_dependency_files(tmp_path)) <= set(CONVENTIONAL_DEPENDENCY_FILES)


# ---- test files


def test_pytest_s_default_names_outside_skipped_and_hidden_folders(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/test_a.py": TEST,
            "tests/sub/b_test.py": TEST,
            "tests/helpers.py": "",
            "tests/test_data.txt": "",
            "test_top.py": TEST,
            ".hidden/test_h.py": TEST,
            "venv/test_v.py": TEST,
            "lib/fixtures/test_f.py": TEST,
            "lib.egg-info/test_e.py": TEST,
            "node_modules/x/test_n.py": TEST,
        },
    )
    found = find_tests(tmp_path)
    assert found.paths == ("test_top.py", "tests/sub/b_test.py", "tests/test_a.py")
    assert found.found
    assert found.pytest_style
    assert not found.unittest_style
    assert not found.has_conftest


def test_the_configuration_s_names_testpaths_and_norecursedirs(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "checks/check_a.py": TEST,
            "checks/slow/check_b.py": TEST,
            "checks/deep/check_c.py": TEST,
            "other/check_d.py": TEST,
            "docs/check_e.py": TEST,
        },
    )
    config = PytestConfig(
        source="pytest.ini [pytest]",
        python_files=("check_*.py",),
        testpaths=("./checks/", "do*"),
        norecursedirs=("slow",),
    )
    assert find_tests(tmp_path, config).paths == (
        "checks/check_a.py",
        "checks/deep/check_c.py",
        "docs/check_e.py",
    )
    # A pattern with a slash is matched against the path.
    config = PytestConfig(source="x", python_files=("deep/check_*.py",))
    assert find_tests(tmp_path, config).paths == ("checks/deep/check_c.py",)
    # `.` is everything.
    config = PytestConfig(source="x", python_files=("check_*.py",), testpaths=(".",))
    assert len(find_tests(tmp_path, config).paths) == 5


def test_the_style_and_the_conftest(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/conftest.py": "",
            "tests/test_u.py": "import unittest\n\nclass T(unittest.TestCase):\n    pass\n",
        },
    )
    found = find_tests(tmp_path)
    assert found.paths == ("tests/test_u.py",)
    assert found.has_conftest
    assert found.unittest_style
    assert not found.pytest_style
    assert found.all_under("tests")
    assert not found.all_under("test")


def test_a_test_file_leading_outside_is_listed_but_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("import pytest\n")
    root = tmp_path / "repo"
    write(root, {"tests/test_plain.py": "x = 1\n"})
    os.symlink(outside, root / "tests" / "test_link.py")
    found = find_tests(root)
    assert found.paths == ("tests/test_link.py", "tests/test_plain.py")
    assert not found.pytest_style  # what the link leads to was not read


def test_no_tests(tmp_path: Path) -> None:
    found = find_tests(tmp_path)
    assert found.paths == ()
    assert not found.found
