"""nox sessions, translated into plain commands or run by nox."""

from __future__ import annotations

from pathlib import Path

from tests.suite import projects
from tests.suite.projects import write
from tests.suite.test_detect import planned_tests


def test_nox_session_translated(tmp_path: Path) -> None:
    check = planned_tests(projects.nox_project(tmp_path))
    assert check.install == ("python -m pip install -e . pytest",)
    assert check.test == ("SHAPES_STRICT=1 pytest -q",)
    assert check.dependency_files == ("pyproject.toml", "noxfile.py")
    assert check.explanation[0] == "Detected: nox session `tests` in noxfile.py."


def test_nox_posargs_default_groups_and_chdir(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "noxfile.py": """
                import nox
                from nox import session

                PYPROJECT = nox.project.load_toml("pyproject.toml")


                @session(name="unit", python=False)
                def unit_tests(s):
                    args = s.posargs or ["-x", "tests"]
                    s.install(*nox.project.dependency_groups(PYPROJECT, "test"))
                    s.install("-r", "requirements/extra.txt")
                    s.log("running")
                    s.chdir("src")
                    s.run("python", "-m", "pytest", *args)
                """,
            "requirements/extra.txt": "six\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == (
        "python -m pip install --group test",
        "python -m pip install -r requirements/extra.txt",
    )
    assert check.test == ("cd src && python -m pytest -x tests",)
    assert check.dependency_files == ("noxfile.py", "requirements/extra.txt")


def test_nox_session_with_logic_runs_nox(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "noxfile.py": """
                import nox

                @nox.session(python=["3.11", "3.12"])
                def test(session):
                    if session.python == "3.12":
                        session.install("tomli")
                    session.run("pytest")
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    run = (
        'nox -s test --force-python "$(python -c \'import sys; print("%d.%d" % '
        'sys.version_info[:2])\')" --envdir "$CONVEYOR_TOOL_ENVIRONMENTS"'
    )
    assert check.install == ("python -m pip install nox", f"{run} --install-only")
    assert check.test == (f"{run} -r",)
    assert check.network


def test_nox_pip_install_through_session_run_moves_to_the_install_step(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "noxfile.py": """
                import nox

                @nox.session
                def tests(session):
                    session.run("python", "-m", "pip", "install", "-e", ".[all]")
                    session.run("pytest")
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install -e '.[all]'",)
    assert check.test == ("pytest",)
