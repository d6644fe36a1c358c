"""The planner: configuration before detection, the Python a check runs on, and — for real, in
fresh virtualenvs — that the planned commands install and run the sample projects' tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.suite.plan import CheckSpec, ConfigError
from app.suite.planner import make_plan, match_python, missing_python_message
from tests.suite import projects
from tests.suite.projects import write
from tests.suite.test_repository_files import within

# Versions the running interpreter is not: the default is then the newest of them.
OLD_PYTHONS = ("3.8.18", "3.9.18")
HERE = ".".join(str(p) for p in sys.version_info[:3])


def test_configuration_comes_before_detection(tmp_path: Path) -> None:
    projects.pydantic_like(tmp_path)
    write(tmp_path, {".conveyor.yml": "checks:\n  unit:\n    run: pytest -x\n"})
    plan = make_plan(tmp_path, [HERE])
    assert plan.origin == ".conveyor.yml"
    assert [(c.name, c.test) for c in plan.checks] == [("unit", ("pytest -x",))]


def test_detection_without_configuration(tmp_path: Path) -> None:
    plan = make_plan(projects.with_pre_commit(tmp_path), [HERE])
    assert plan.origin == "detected"
    assert [c.name for c in plan.checks] == ["tests", "pre-commit"]


def test_configuration_errors_are_raised(tmp_path: Path) -> None:
    write(tmp_path, {".conveyor.yml": "checks:\n  tests: {}\n"})
    with pytest.raises(ConfigError) as caught:
        make_plan(tmp_path, [HERE])
    assert (caught.value.path, caught.value.line) == (".conveyor.yml", 2)


# Issue 9: a repository (a fork's pull request as much) that commits its configuration as a
# link to a host file. The error becomes the public check run's text; the host file's content
# (a canary standing in for /etc/shadow or the operator's SECRETS_FILE) must not be in it.
CANARY = "SECRET-CANARY-1234: x\n"


@pytest.mark.parametrize("name", [".conveyor.yml", "pyproject.toml"])
def test_a_configuration_linked_to_a_host_file_fails_without_its_content(
    tmp_path: Path, name: str
) -> None:
    host = tmp_path / "SECRETS_FILE.json"
    host.write_text(CANARY)
    repo = projects.pydantic_like(tmp_path / "repo")
    (repo / name).unlink(missing_ok=True)
    (repo / name).symlink_to(host)
    with pytest.raises(ConfigError) as caught:
        make_plan(repo, [HERE])
    assert caught.value.path == name
    assert str(caught.value).startswith(f"{name}: is a symbolic link to a place outside")
    assert "CANARY" not in str(caught.value)
    assert "SECRETS_FILE" not in str(caught.value)
    assert host.read_text() == CANARY


def test_a_configuration_linked_inside_the_repository_plans(tmp_path: Path) -> None:
    repo = projects.pydantic_like(tmp_path)
    write(repo, {"ci/conveyor.yml": "checks:\n  unit:\n    run: pytest -x\n"})
    (repo / ".conveyor.yml").symlink_to("ci/conveyor.yml")
    assert [c.name for c in make_plan(repo, [HERE]).checks] == ["unit"]


def test_a_test_file_linked_to_dev_zero_is_planned_in_time(tmp_path: Path) -> None:
    repo = projects.pydantic_like(tmp_path)
    (repo / "tests" / "test_zero.py").symlink_to("/dev/zero")
    with within(10):
        plan = make_plan(repo, [HERE])
    assert [c.name for c in plan.checks] == ["tests"]


def test_configured_versions_are_named_and_kept_even_if_missing(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.conveyor]\npython = ["3.9", "3.12"]\n\n'
            '[tool.conveyor.checks.tests]\nrun = "pytest"\n\n'
            '[tool.conveyor.checks.lint]\nrun = "ruff check ."\npython = "3.12"\n',
        },
    )
    plan = make_plan(tmp_path, OLD_PYTHONS)
    # 3.12 is not installed: the runner fails those checks, naming what is.
    assert [(c.name, c.python) for c in plan.checks] == [
        ("tests (3.9)", "3.9"),
        ("tests (3.12)", "3.12"),
        ("lint", "3.12"),
    ]


def with_requirement(root: Path, spec: str) -> Path:
    return write(
        root,
        {
            "pyproject.toml": f'[project]\nname = "x"\nrequires-python = "{spec}"\n',
            "tests/test_x.py": "def test_x():\n    pass\n",
            ".pre-commit-config.yaml": "repos: []\n",
        },
    )


@pytest.mark.parametrize(
    ("spec", "python"),
    [
        (">=3.8", ""),  # the default (3.9 here) fits: nothing to pin
        ("<3.9", "3.8"),  # the default does not: the newest that does
        ("~=3.8.0", "3.8"),
        ("==3.8.*", "3.8"),
        ("!=3.9.*", "3.8"),
        (">=3.11", "3.11"),  # nothing installed fits: ask for the lowest it allows
        ("weird", ""),  # unreadable: leave it to pip to say
    ],
)
def test_detected_checks_follow_requires_python(tmp_path: Path, spec: str, python: str) -> None:
    plan = make_plan(with_requirement(tmp_path, spec), OLD_PYTHONS)
    tests, pre_commit = plan.checks
    assert tests.python == python
    assert pre_commit.python == ""  # hooks bring their own environments
    if python:
        assert tests.explanation[-2] == (
            f"The project requires Python `{spec}`, which not every Python here allows: "
            f"using {python}."
        )


def test_the_service_own_python_is_the_default(tmp_path: Path) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    newer = f"{sys.version_info.major}.{sys.version_info.minor + 1}.0"
    # The newest installed does not fit, but the default (the service's own) does.
    plan = make_plan(with_requirement(tmp_path, f"<={here}.99"), [HERE, newer])
    assert plan.checks[0].python == ""


def test_match_python() -> None:
    available = ["3.10.13", "3.12.1", "3.12.4", "3.11.7"]
    assert match_python("3.12", available) == "3.12.4"
    assert match_python("3.12.1", available) == "3.12.1"
    assert match_python("3", available) == "3.12.4"
    assert match_python("3.9", available) is None
    assert match_python("3.1", available) is None


def test_missing_python_message() -> None:
    assert missing_python_message("3.9", ["3.12.1", "3.10.13", "3.11.7"]) == (
        "Python 3.9 was requested, but it is not installed on this Conveyor server. "
        "Available: 3.10 (3.10.13), 3.11 (3.11.7), 3.12 (3.12.1). Ask for one of these in "
        "`python` (see README), or ask the server's administrator to install Python 3.9."
    )
    assert missing_python_message("3.13", []) == (
        "Python 3.13 was requested, but this Conveyor server has no Python installed that it "
        "can use. Ask its administrator to install one."
    )


# ---- the plans, for real
#
# Each project gets a copy of one virtualenv made with `python -m venv --upgrade-deps` (a recent
# pip, which `--group` needs, as in the runner's environments); copying saves the venv creation
# and pip upgrade per project. Then the planned install commands run with `sh -c` in the
# project's root with the venv on PATH, then the test commands: they must pass, and fail once a
# failing test is added.


@pytest.fixture(scope="module")
def template_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("template") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--upgrade-deps", str(venv)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return venv


def run(commands: tuple[str, ...], root: Path, venv: Path, check: CheckSpec) -> tuple[int, str]:
    env = {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": str(venv),
        "HOME": os.environ.get("HOME", "/root"),  # pip's cache
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **dict(check.env),
    }
    output = []
    for command in commands:
        done = subprocess.run(
            ["sh", "-c", command],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output.append(f"$ {command}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            return done.returncode, "\n".join(output)
    return 0, "\n".join(output)


@pytest.mark.parametrize(
    ("make", "failing", "passed"),
    [
        (projects.pydantic_like, projects.FAILING_PYTEST, "3 passed"),  # dependency group
        (projects.extras_project, projects.FAILING_PYTEST, "3 passed"),  # extra
        (projects.flask_like_tox_ini, projects.FAILING_PYTEST, "2 passed"),  # tox, translated
        (projects.tox_only, projects.FAILING_PYTEST, "2 passed"),  # tox, no packaging, setenv
        (projects.nox_project, projects.FAILING_PYTEST, "2 passed"),  # nox, translated
        (projects.setup_py_unittest, projects.FAILING_UNITTEST, "Ran 2 tests"),  # unittest
        (
            projects.bare_tests,
            {"test_broken.py": "def test_wrong_area():\n    assert 0\n"},
            "1 passed",
        ),
    ],
    ids=["dependency-group", "extra", "tox", "tox-only", "nox", "unittest", "bare-folder"],
)
def test_planned_commands_really_run(
    tmp_path: Path,
    template_venv: Path,
    make: Callable[[Path], Path],
    failing: dict[str, str],
    passed: str,
) -> None:
    root = make(tmp_path / "project")
    if (root / "uv.lock").exists():
        # The fixture's lock is a placeholder (planning reads its presence); uv needs a real one.
        (root / "uv.lock").unlink()
        uv = str(Path(sys.executable).with_name("uv"))
        locked = subprocess.run([uv, "lock", "-q"], cwd=root, capture_output=True, text=True)
        assert locked.returncode == 0, locked.stderr
    (check,) = make_plan(root, [HERE]).checks
    venv = tmp_path / "venv"
    shutil.copytree(template_venv, venv, symlinks=True)

    status, output = run(check.install, root, venv, check)
    assert status == 0, output
    status, output = run(check.test, root, venv, check)
    assert status == 0, output
    assert passed in output

    write(root, failing)
    status, output = run(check.test, root, venv, check)
    assert status != 0, output
    assert "test_wrong_area" in output
