"""tox environments, translated into plain commands or run by tox."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from app.report.summary import build_output
from app.suite.planner import make_plan
from app.suite.runlog import Masker, RunLog
from tests.suite import projects
from tests.suite.projects import write
from tests.suite.sandboxed import World, make_runner
from tests.suite.test_detect import planned_tests

TOX_ITSELF = 'tox run -e py --workdir "$CONVEYOR_TOOL_ENVIRONMENTS"'


def test_flask_like_tox_ini(tmp_path: Path) -> None:
    check = planned_tests(projects.flask_like_tox_ini(tmp_path))
    # The newest Python env of the list; `package = wheel` is a plain (non-editable) install.
    assert check.install == (
        "python -m pip install -r requirements/tests.txt",
        "python -m pip install .",
    )
    # tox creates its env's tmp folder before the commands; a fresh checkout has none.
    assert check.test == (
        "mkdir -p .tox/py312/tmp && pytest -v --tb=short --basetemp=.tox/py312/tmp",
    )
    assert check.dependency_files == ("pyproject.toml", "tox.ini", "requirements/tests.txt")
    assert check.explanation[0] == "Detected: tox env `py312` in tox.ini."
    assert not check.network


def test_flask_like_tox_toml_with_dependency_group(tmp_path: Path) -> None:
    check = planned_tests(projects.flask_like_tox_toml(tmp_path))
    assert check.install == ("python -m pip install --group tests .",)
    assert check.test == (
        "mkdir -p .tox/py3.13/tmp && pytest -v --tb=short --basetemp=.tox/py3.13/tmp",
    )
    assert check.dependency_files == ("pyproject.toml", "tox.toml")


def test_the_uv_lock_runner_installs_the_locked_versions(tmp_path: Path) -> None:
    # flask's own: tox-uv's lock runner, which installs from uv.lock, not the ranges.
    projects.flask_like_tox_toml(tmp_path)
    toml = (tmp_path / "tox.toml").read_text()
    toml = toml.replace('package = "wheel"', 'package = "wheel"\nrunner = "uv-venv-lock-runner"')
    write(tmp_path, {"tox.toml": toml, "uv.lock": "version = 1\n"})
    check = planned_tests(tmp_path)
    assert check.install == (
        "python -m pip install -q uv",
        'UV_PROJECT_ENVIRONMENT="$VIRTUAL_ENV" UV_PYTHON="$VIRTUAL_ENV/bin/python" '
        "UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1 "
        "uv sync --frozen --inexact --no-default-groups --group tests",
    )
    assert "uv.lock" in check.dependency_files
    assert any("`uv-venv-lock-runner`" in line for line in check.explanation)
    # Without the lock file, the runner has nothing to follow: pip installs the group.
    (tmp_path / "uv.lock").unlink()
    assert planned_tests(tmp_path).install == ("python -m pip install --group tests .",)


def test_an_unset_variable_in_setenv_is_empty_as_tox_makes_it(tmp_path: Path) -> None:
    # pyparsing's own: tox reads PYTHONPATH from its process, "" when unset, as in CI.
    write(
        tmp_path,
        {
            "tox.ini": "[testenv]\nskip_install = true\ndeps = pytest\nsetenv =\n"
            "    PYTHONPATH = {env:PYTHONPATH}{:}{toxinidir}\ncommands = pytest tests\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.env == (("PYTHONPATH", ":."),)
    assert check.test == ("pytest tests",)
    assert not check.network
    # PATH is the check's own: a setting reading it cannot be written down; tox itself runs.
    ini = (tmp_path / "tox.ini").read_text()
    write(tmp_path, {"tox.ini": ini.replace("{env:PYTHONPATH}", "{env:PATH}")})
    assert planned_tests(tmp_path).test == (TOX_ITSELF,)


def test_tox_only_project(tmp_path: Path) -> None:
    check = planned_tests(projects.tox_only(tmp_path))
    assert check.install == ("python -m pip install pytest six",)  # skipsdist: no package
    assert check.test == ("pytest tests -q",)
    assert check.env == (("PYTHONPATH", "."),)
    assert check.dependency_files == ("tox.ini",)


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
            "commands = pytest {glob:tests/*.py} {posargs}\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    # tox builds its environments in the install step, kept with the check's; `py` is whichever
    # Python runs tox: the check's own, not necessarily 3.12.
    assert check.install == ("python -m pip install tox", f"{TOX_ITSELF} --notest")
    assert check.test == (TOX_ITSELF,)
    assert check.network  # tox installs the project again while testing
    assert check.tool_runs_itself
    assert check.explanation[0] == "Detected: tox `py312` in tox.ini."
    assert "(the substitution `{glob:tests/*.py}`)" in check.explanation[1]


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


def test_a_tool_that_builds_its_own_environment_runs_tox(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tox.ini": "[testenv]\nskip_install = true\ncommands =\n  pipenv install\n  pytest\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.test == (TOX_ITSELF,)
    assert "`pipenv install`, which builds an environment of its own" in check.explanation[1]


@pytest.mark.parametrize(
    ("command", "installed"),
    [
        # marko's own (in its noxfile): PDM installs the locked dev dependencies.
        (
            "pdm install -d",
            "\"$CONVEYOR_TOOL\" 'pdm[locked]'; }; } && "
            "VIRTUAL_ENV=\"$(python -c 'import sys; print(sys.prefix)')\" "
            'PDM_IGNORE_SAVED_PYTHON=1 PDM_CHECK_UPDATE=false "$CONVEYOR_TOOL"/bin/pdm install -d',
        ),
        (
            "uv sync --group test",
            'UV_PROJECT_ENVIRONMENT="$VIRTUAL_ENV" UV_PYTHON="$VIRTUAL_ENV/bin/python" '
            "UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1"
            " uv sync --group test --inexact",
        ),
    ],
)
def test_a_tool_syncing_from_its_lock_installs_into_the_check_s_environment(
    tmp_path: Path, command: str, installed: str
) -> None:
    write(
        tmp_path,
        {
            "tox.ini": f"[testenv]\nskip_install = true\ncommands =\n  {command}\n  pytest\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.test == ("pytest",)
    assert check.install[-1].endswith(installed)
    assert not check.network


# ---- through the real sandbox


def _wheel(folder: Path) -> None:
    """A one-module wheel, so that an install needs neither the network nor a build backend."""
    files = {
        "hello.py": "GREETING = 'hello'\n",
        "hello-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: hello\nVersion: 0.1\n",
        "hello-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    records = "".join(f"{name},,\n" for name in files) + "hello-0.1.dist-info/RECORD,,\n"
    with zipfile.ZipFile(folder / "hello-0.1-py3-none-any.whl", "w") as wheel:
        for name, text in {**files, "hello-0.1.dist-info/RECORD": records}.items():
            wheel.writestr(name, text)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("bwrap") is None,
    reason="the isolated sandbox needs root and bubblewrap (apt-get install bubblewrap)",
)
async def test_tox_commands_that_install_and_use_envtmpdir_run_in_the_sandbox(
    tmp_path: Path,
    venv_templates: Path,
) -> None:
    # Before: the `pip install` ran in the test step (network off, environment read-only) and
    # `{envtmpdir}` was a folder nobody had made.
    project = write(
        tmp_path / "project",
        {
            "tox.ini": """
                [tox]
                skipsdist = true

                [testenv]
                commands =
                    python -m pip install --no-index {toxinidir}/wheels/hello-0.1-py3-none-any.whl
                    python check.py {envtmpdir}
                """,
            "check.py": """
                import os, sys
                import hello
                assert os.path.isdir(sys.argv[1]), sys.argv[1]
                print(hello.GREETING, "from", sys.argv[1])
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    (project / "wheels").mkdir()
    _wheel(project / "wheels")
    check = planned_tests(project)
    runner = make_runner(tmp_path, venvs=venv_templates)
    log = RunLog(tmp_path / "run" / "output.log", Masker(()))
    try:
        outcome = await runner.run(
            check, repository="repo", workspace=project, artifacts=tmp_path / "run", log=log
        )
    finally:
        log.close()
    text = (tmp_path / "run" / "output.log").read_text()
    assert outcome.returncode == 0, text
    assert "hello from .tox/py/tmp" in text


# ---- tox's reading of sections, commands_post and change_dir, as tox 4 does


def test_a_tox_ini_holding_only_pytest_settings_is_not_tox(tmp_path: Path) -> None:
    # Before: taken as tox with no env, the check's test step was empty and failed.
    write(
        tmp_path,
        {
            "tox.ini": "[pytest]\naddopts = -ra\n\n[flake8]\nmax-line-length = 100\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert "tox" not in check.explanation[0]
    assert check.test == ("python -m pytest",)  # pytest reads its own settings there


def test_an_env_without_commands_leaves_the_tests_to_the_next_rule(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tox.ini": "[tox]\nenvlist = py312\n\n[testenv]\ndeps = pytest\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert "tox" not in check.explanation[0]
    assert check.test == ("python -m pytest tests",)


def test_commands_post_run_after_the_commands(tmp_path: Path) -> None:
    # Before: commands_post were dropped (a coverage report or a check after the tests).
    write(
        tmp_path,
        {
            "tox.ini": """
                [tox]
                envlist = py312

                [testenv]
                skip_install = true
                deps = pytest
                commands_pre = python -c 'print("pre")'
                commands = pytest -q
                commands_post =
                    - python -m coverage report
                    python -c 'print("post")'
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.test == (
        "python -c 'print(\"pre\")'",
        "pytest -q",
        "python -m coverage report || true",
        "python -c 'print(\"post\")'",
    )
    assert "Its commands_post run after its commands" in " ".join(check.explanation)

    write(
        tmp_path,
        {
            "tox.ini": "[pytest]\n",
            "tox.toml": 'env_list = ["3.12"]\n[env_run_base]\nskip_install = true\n'
            'commands = [["pytest"]]\ncommands_post = [["coverage", "xml"]]\n',
        },
    )
    assert planned_tests(tmp_path).test == ("pytest", "coverage xml")


def test_the_env_translated_is_the_one_for_the_python_the_check_runs_on(tmp_path: Path) -> None:
    # Before: the summary said `py310` (and py310's factors chose the deps) while the check ran
    # on 3.11, the newest declared Python installed here: 3.10 is not.
    write(
        tmp_path,
        {
            "pyproject.toml": projects.SETUPTOOLS_BUILD
            + """
                [project]
                name = "shapes"
                version = "1.0"
                classifiers = [
                    "Programming Language :: Python :: 3.10",
                    "Programming Language :: Python :: 3.11",
                ]
                """,
            "tox.ini": """
                [tox]
                envlist = py310

                [testenv]
                deps =
                    pytest
                    py310: tomli
                    py311: exceptiongroup
                commands = pytest
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    (check,) = make_plan(tmp_path, ["3.11.7", "3.12.1"]).checks
    assert check.python == "3.11"
    assert check.install[0] == "python -m pip install pytest exceptiongroup"
    assert check.explanation[0] == (
        "Detected: tox env `py311` in tox.ini, the one for Python 3.11, which the check runs on "
        "(rather than `py310` from its env list: tox gives an env the settings its factors "
        "select)."
    )
    assert "Python 3.11: the newest of the versions the project declares" in check.explanation[2]

    # Where 3.11 is what there is and nothing else is declared, the same: 3.11's env.
    write(
        tmp_path,
        {
            "pyproject.toml": "",
            "tox.ini": "[tox]\nenvlist = py37\n\n[testenv]\n"
            "deps =\n    pytest\n    py37: mock\ncommands = pytest\n",
        },
    )
    (check,) = make_plan(tmp_path, ["3.11.7"]).checks
    assert check.install[0] == "python -m pip install pytest"
    assert "tox env `py311` in tox.ini, the one for Python 3.11," in check.explanation[0]


def test_a_changedir_the_checkout_lacks_is_created_as_tox_does(tmp_path: Path) -> None:
    # Before: `cd build/docs` failed in a fresh checkout, where tox would have created it.
    write(
        tmp_path,
        {
            "tox.ini": "[testenv]\nskip_install = true\nchangedir = build/docs\n"
            "commands = pytest {toxinidir}/tests\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    assert planned_tests(tmp_path).test == (
        "mkdir -p build/docs && cd build/docs && pytest ../../tests",
    )


TOOLZ = {
    "setup.py": "from setuptools import setup\nsetup(name='toolz', packages=['toolz'])\n",
    "toolz/__init__.py": "",
    "toolz/tests/test_x.py": "def test_x():\n    pass\n",
    "tox.ini": "[tox]\nenvlist = py3\n\n[testenv]\ndeps = pytest\ncommands = py.test {posargs}\n",
    ".github/workflows/test.yml": """
        jobs:
          test:
            steps:
              - run: |
                  pip install coverage pycodestyle pytest
                  pip install -e .
              - run: |
                  coverage run -m pytest --doctest-modules toolz/
                  pytest bench/
        """,
}


def test_a_bare_pytest_in_tox_runs_as_the_ci_runs_pytest_when_the_ci_never_runs_tox(
    tmp_path: Path,
) -> None:
    # toolz's shape: its CI collects the package's doctests, its unused tox.ini a bare py.test.
    write(tmp_path, TOOLZ)
    check = planned_tests(tmp_path)
    assert check.test == ("py.test --doctest-modules toolz/",)
    assert (
        "Its `py.test` runs with `--doctest-modules toolz/` as the project's CI runs pytest (its "
        "GitHub workflows never run tox)." in check.explanation
    )


def test_a_ci_that_runs_tox_leaves_its_pytest_as_tox_runs_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **TOOLZ,
            ".github/workflows/test.yml": "steps:\n  - run: pip install tox && tox -e py\n"
            "  - run: pytest --doctest-modules toolz/\n",
        },
    )
    assert planned_tests(tmp_path).test == ("py.test",)


# Untranslatable (PATH is the check's own), so tox runs itself; what the test writes into its env
# shows whether the kept environment is the one the test step changes.
TOX_ITSELF_PROJECT = {
    "tox.ini": """
        [tox]
        skipsdist = true

        [testenv]
        deps = pytest
        setenv =
            OUTER_PATH = {env:PATH}
        commands = pytest -p no:cacheprovider tests
        """,
    "tests/test_x.py": """
        import os, pathlib, sys

        def test_the_env_is_as_kept():
            written = pathlib.Path(sys.prefix, "written-by-a-test")
            assert not written.exists()
            written.write_text("x")
        """,
}


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("bwrap") is None,
    reason="the isolated sandbox needs root and bubblewrap (apt-get install bubblewrap)",
)
async def test_tox_run_as_itself_keeps_its_environments_and_the_tests_never_change_them(
    world: World,
) -> None:
    project = write(world.root / "plan", TOX_ITSELF_PROJECT)
    check = planned_tests(project)
    assert check.tool_runs_itself, check

    first, log = await world.run(check, files=TOX_ITSELF_PROJECT)
    assert build_output(first).title == "1 test passed", log
    # tox built its env in the install step.
    install, _, test = log.partition("── Testing")
    assert "install_deps> python -I -m pip install pytest" in install, log
    assert "install_deps>" not in test, log

    second, log = await world.run(check, files=TOX_ITSELF_PROJECT)
    # Reused as it was kept: tox installs nothing, and what the first run's test wrote into
    # its copy is not there (the test asserts it).
    assert build_output(second).title == "1 test passed", log
    assert "Environment: reused" in "\n".join(second.about), log
    assert "install_deps>" not in log, log
    assert "the tool's kept environments, copied for it to write" in log, log
