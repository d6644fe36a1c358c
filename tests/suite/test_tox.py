"""tox environments, translated into plain commands or run by tox."""

from __future__ import annotations

from pathlib import Path

from app.suite.tox import expand_braces
from tests.suite import projects
from tests.suite.projects import write
from tests.suite.test_detect import planned_tests


def test_flask_like_tox_ini(tmp_path: Path) -> None:
    check = planned_tests(projects.flask_like_tox_ini(tmp_path))
    # The newest Python env of the list; `package = wheel` is a plain (non-editable) install.
    assert check.install == (
        "python -m pip install -r requirements/tests.txt",
        "python -m pip install .",
    )
    assert check.test == ("pytest -v --tb=short --basetemp=.tox/py312/tmp",)
    assert check.dependency_files == ("pyproject.toml", "tox.ini", "requirements/tests.txt")
    assert check.explanation[0] == "Detected: tox env `py312` in tox.ini."
    assert not check.network


def test_flask_like_tox_toml_with_dependency_group(tmp_path: Path) -> None:
    check = planned_tests(projects.flask_like_tox_toml(tmp_path))
    assert check.install == ("python -m pip install --group tests .",)
    assert check.test == ("pytest -v --tb=short --basetemp=.tox/py3.13/tmp",)
    assert check.dependency_files == ("pyproject.toml", "tox.toml")


def test_tox_only_project(tmp_path: Path) -> None:
    check = planned_tests(projects.tox_only(tmp_path))
    assert check.install == ("python -m pip install pytest six",)  # skipsdist: no package
    assert check.test == ("pytest tests -q",)
    assert check.env == (("PYTHONPATH", "."),)
    assert check.dependency_files == ("tox.ini",)


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
        "cd ./tests && python -m coverage erase || true",
        "cd ./tests && python -m pytest --strict-markers -q",
    )


def test_tox_in_pyproject_native_and_legacy(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.tox]
                env_list = ["lint", "3.12"]

                [tool.tox.env_run_base]
                deps = ["pytest>=8", "-r{tox_root}/requirements/ci.txt"]
                set_env = { LANG = "C.UTF-8" }
                commands = [["pytest", { replace = "posargs", default = ["tests"], extend = true }]]
                skip_install = true
                """,
            "requirements/ci.txt": "six\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install 'pytest>=8' -r./requirements/ci.txt",)
    assert check.test == ("pytest tests",)
    assert check.env == (("LANG", "C.UTF-8"),)
    assert check.dependency_files == ("pyproject.toml", "requirements/ci.txt")

    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.tox]\nlegacy_tox_ini = """\n[tox]\nenvlist = py\n\n'
            '[testenv]\nskip_install = true\ndeps = pytest\ncommands = pytest -x\n"""\n',
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install pytest",)
    assert check.test == ("pytest -x",)


def test_tox_that_cannot_be_translated_runs_tox(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tox.ini": "[tox]\nenvlist = py311, py312\n\n[testenv]\ndeps = pytest\n"
            "commands = pytest {env:PYTEST_FLAGS:-q} {posargs}\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install tox",)
    # `py` is whichever Python runs tox: the check's own, not necessarily 3.12.
    assert check.test == ("tox run -e py",)
    assert check.network  # tox builds its environment while testing
    assert check.explanation[0] == "Detected: tox `py312` in tox.ini."
    assert "(the substitution `{env:PYTEST_FLAGS:-q}`)" in check.explanation[1]


def test_tox_without_test_env_is_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tox.ini": "[tox]\nenvlist = lint, docs\n\n[testenv:lint]\ncommands = ruff check\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.test == ("python -m pytest tests",)


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
