"""tox's INI configuration read into an env: env lists, generative names, factor conditions,
references, setenv and changedir, as tox 4 reads them."""

from __future__ import annotations

import configparser
import textwrap
from pathlib import Path

from app.suite.project import empty_ini
from app.suite.tox_ini import expand_braces, ini_env, ini_env_list
from tests.suite import projects
from tests.suite.projects import write
from tests.suite.test_detect import planned_tests

TOX_INI = """
[tox]
envlist = py3{11,12}-django{42,50}, lint
    docs

[base]
deps = pytest

[testenv]
deps =
    {[base]deps}
    django42: Django>=4.2,<5
    !py311: tomli
setenv =
    A = 1
commands = pytest {posargs:-q} \\
    -x

[testenv:lint]
commands = ruff check
runner = uv-venv-lock-runner
"""


def parsed(text: str) -> configparser.ConfigParser:
    ini = empty_ini()
    ini.read_string(textwrap.dedent(text))
    return ini


def test_the_env_list_is_expanded_in_order() -> None:
    assert ini_env_list(parsed(TOX_INI), "tox") == [
        "py311-django42",
        "py311-django50",
        "py312-django42",
        "py312-django50",
        "lint",
        "docs",
    ]


def test_an_env_takes_the_lines_its_factors_select_and_its_references() -> None:
    env = ini_env(parsed(TOX_INI), "py312-django42", "tox.ini")
    assert env.deps == ("pytest", "Django>=4.2,<5", "tomli")
    assert env.commands == ("pytest -q -x",)  # a continued line, posargs' default
    assert env.setenv == (("A", "1"),)
    assert (env.source, env.problems, env.locked) == ("tox.ini", (), False)
    assert ini_env(parsed(TOX_INI), "py311-django50", "tox.ini").deps == ("pytest",)


def test_an_env_s_own_section_comes_before_testenv() -> None:
    env = ini_env(parsed(TOX_INI), "lint", "setup.cfg")
    assert env.commands == ("ruff check",)
    assert env.deps == ("pytest", "tomli")  # [testenv]'s, which lint has no own of
    assert env.locked  # tox-uv's lock runner
    assert env.source == "setup.cfg"


def test_what_cannot_be_translated_is_a_problem() -> None:
    ini = parsed(
        "[testenv]\npackage = external\nsetenv =\n    file|.env\n"
        "changedir = ../elsewhere\ncommands = pytest {[nowhere]x}\n"
    )
    assert ini_env(ini, "py", "tox.ini").problems == (
        "`package = external`",
        "`changedir = ../elsewhere`, outside the repository",
        "`setenv` from a file",
        "the reference `{[nowhere]x}` to nothing",
    )


def test_tox_factors_changedir_and_ignored_errors(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "setup.py": "from setuptools import setup\nsetup()\n",
            "tox.ini": """
                [tox]
                env_list = py3{9,10,11}-django{42,50}, lint

                [testenv]
                usedevelop = true
                extras = test, yaml
                deps =
                    django42: Django>=4.2,<5
                    django50: Django>=5.0,<5.1
                    !py39: tomli  # on 3.11 it is in the standard library, but as tomllib
                    py39,py310: typing-extensions
                    py3{10,11}: exceptiongroup
                    py3{9,10}-django{42,50}: backports.zoneinfo
                changedir = {toxinidir}/tests
                commands_pre = - python -m coverage erase
                commands =
                    python -m pytest \\
                        --strict-markers {posargs:-q}
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.explanation[0] == "Detected: tox env `py311-django42` in tox.ini."
    assert check.install == (
        "python -m pip install 'Django>=4.2,<5' tomli exceptiongroup",
        "python -m pip install -e '.[test,yaml]'",
    )
    assert check.test == (
        "cd tests && python -m coverage erase || true",
        "cd tests && python -m pytest --strict-markers -q",
    )


def test_brace_expansion() -> None:
    assert expand_braces("py3{10-12}-django{42,50}") == [
        "py310-django42",
        "py310-django50",
        "py311-django42",
        "py311-django50",
        "py312-django42",
        "py312-django50",
    ]
    assert expand_braces("lint") == ["lint"]


def test_references_setenv_and_install_commands_in_tox_ini(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "setup.py": "from setuptools import setup\nsetup()\n",
            "tox.ini": """
                [tox]
                envlist = py312

                [base]
                deps =
                    pytest
                    coverage

                [testenv]
                deps = {[base]deps}
                setenv =
                    COVERAGE_FILE = {toxworkdir}/.coverage.{envname}
                changedir = tests
                commands =
                    python -m pip install -e {toxinidir}[all]
                    poetry install --with test
                    - uv pip install "six>=1"
                    poetry run pytest --basetemp={envtmpdir} {posargs:-q}
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install[:2] == (
        "python -m pip install pytest coverage",
        "python -m pip install .",
    )
    moved = check.install[2:]
    assert (
        moved[0] == "mkdir -p .tox .tox/py312/tmp && cd tests && python -m pip install -e '..[all]'"
    )
    assert "poetry install --no-interaction --with test" in moved[1]
    assert moved[2].endswith("cd tests && python -m pip install 'six>=1' || true")
    assert check.test == (
        "mkdir -p .tox .tox/py312/tmp && cd tests && pytest --basetemp=../.tox/py312/tmp -q",
    )
    assert check.env == (("COVERAGE_FILE", "../.tox/.coverage.py312"),)  # from tests/
    assert "run in the install step" in " ".join(check.explanation)


def test_a_generative_section_name_applies_to_each_env_it_names(tmp_path: Path) -> None:
    # markdown-it-py's shape: `[testenv:py{310,311,312,313}]` is py310's section. Before: only
    # `[testenv:py310]` was looked up, the env had no commands and the check ran nothing.
    write(
        tmp_path,
        {
            "pyproject.toml": projects.SETUPTOOLS_BUILD
            + """
                [project]
                name = "mdlike"
                version = "1.0"

                [project.optional-dependencies]
                linkify = ["six"]
                testing = ["pytest"]
                """,
            "tox.ini": """
                [tox]
                envlist = py310

                [testenv]
                usedevelop = true

                [testenv:py{310,311,312,313}]
                extras =
                    linkify
                    testing
                commands = pytest {posargs:tests/}

                [testenv:py{310,311,312,313}-plugins]
                extras = testing
                changedir = {envtmpdir}
                commands = pytest {posargs}

                [testenv:py310]
                commands = never-read
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.explanation[0].startswith("Detected: tox env `py310` in tox.ini")
    assert check.install == ("python -m pip install -e '.[linkify,testing]'",)
    assert check.test == ("pytest tests/",)


def test_envs_named_by_sections_alone(tmp_path: Path) -> None:
    # Without an env list, tox knows the envs its section names name, braces expanded.
    write(
        tmp_path,
        {
            "tox.ini": "[testenv:lint]\ncommands = ruff check\n\n"
            "[testenv:py3{11,12},unit]\nskip_install = true\ndeps = pytest\n"
            "commands = pytest -x\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.explanation[0].startswith("Detected: tox env `py312` in tox.ini")
    assert check.test == ("pytest -x",)
