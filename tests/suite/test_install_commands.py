"""app/suite/install_commands.py for real: a tool that installs from its lock (PDM, as marko's
noxfile runs it) installs into the check's environment in the sandbox's install step, and the
test step, without the network, finds what it installed."""

from __future__ import annotations

from app.report.summary import build_output
from tests.suite.sandbox.helpers import ISOLATED
from tests.suite.sandboxed import World
from tests.suite.test_detect import planned_tests

pytestmark = ISOLATED

PROJECT = {
    "pyproject.toml": """
        [project]
        name = "lib"
        version = "1"
        requires-python = ">=3.9"
        dependencies = ["iniconfig"]

        [tool.pdm]
        distribution = false

        [tool.pdm.dev-dependencies]
        test = ["pytest"]
        """,
    "noxfile.py": """
        import nox


        @nox.session
        def tests(session):
            session.run("pdm", "install", "-d", external=True)
            session.run("pytest", "tests/")
        """,
    "tests/test_lib.py": "import iniconfig\n\n\ndef test_lib():\n    assert iniconfig\n",
}


async def test_pdm_install_in_a_session_installs_into_the_check_s_environment(
    world: World,
) -> None:
    root = world.root / "plan"
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.replace("\n        ", "\n").lstrip("\n"))
    check = planned_tests(root)
    assert check.test == ("pytest tests/",)
    assert not check.network

    outcome, log = await world.run(check, files=PROJECT)

    output = build_output(outcome)
    assert (output.conclusion, output.title) == ("success", "1 test passed"), log
    # PDM's own venv is kept with the repository's downloads: the next new environment reuses it.
    (kept,) = (world.root / "downloads" / "repo" / "tools").glob("pdm-*/bin/pdm")
    assert kept.is_file()


TOX_POETRY = {
    "pyproject.toml": """
        [project]
        name = "lib"
        version = "1"
        requires-python = ">=3.9"
        dependencies = ["iniconfig"]

        [tool.poetry]
        package-mode = false
        """,
    # As rich's: Poetry is one of the env's deps, and its commands run `poetry install`.
    "tox.ini": """
        [tox]
        envlist = py3

        [testenv]
        deps =
            poetry
            pytest
        skip_install = true
        commands =
            poetry install
            pytest tests {posargs}
        """,
    "tests/test_lib.py": "import iniconfig\n\n\ndef test_lib():\n    assert iniconfig\n",
}


async def test_poetry_among_a_tox_env_s_deps_is_the_one_that_installs(world: World) -> None:
    root = world.root / "plan"
    for name, text in TOX_POETRY.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.replace("\n        ", "\n").lstrip("\n"))
    check = planned_tests(root)
    assert check.test == ("pytest tests",)

    outcome, log = await world.run(check, files=TOX_POETRY)

    output = build_output(outcome)
    assert (output.conclusion, output.title) == ("success", "1 test passed"), log
    # The check's venv had Poetry from the deps: no second Poetry was installed beside it.
    assert not list((world.root / "downloads" / "repo").glob("tools/poetry-*")), log
    assert "Package operations:" in log, log  # and it was Poetry that installed
