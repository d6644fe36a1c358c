"""Real projects' suites through the whole service: sandbox, environments, plans, limits.

Each sample project is pushed to the local GitHub; the service fetches it, works out what to run,
installs it in the sandbox (with the network: pytest comes from the package index) and runs its
tests there (without), then the check runs are read back from the local GitHub.
"""

from __future__ import annotations

import secrets
import socket
import textwrap
from collections.abc import Iterator

import pytest

from app.localgithub import CheckRun
from tests.e2e.harness import Harness
from tests.e2e.processes import until_none_left

# The database plays no part in what runs in the sandbox and what it reports: SQLite only (the flow
# on PostgreSQL is in test_check_runs, test_recovery, test_reports and test_scale).
DATABASES = ("sqlite",)

PYPROJECT_WITH_TEST_EXTRA = """\
[project]
name = "sample"
version = "0.1"
[project.optional-dependencies]
test = ["pytest"]
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
[tool.setuptools]
py-modules = ["calc"]
"""
CALC = "def add(a, b):\n    return a + b\n"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def project(**files: str) -> dict[str, str]:
    return {
        name.replace("__", "/").replace("_DOT_", "."): textwrap.dedent(body)
        for name, body in files.items()
    }


async def run_commit(harness: Harness, files: dict[str, str], count: int = 1) -> list[CheckRun]:
    sha = harness.commit(files, "sample")
    await harness.push("main")
    return await harness.completed(sha, count=count, timeout=240)


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on the host's loopback: a sandboxed test without network cannot reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.mark.fresh_environments  # the first commit's environment is built by its own run
async def test_a_project_with_a_test_extra_passes_and_its_second_commit_reuses_the_environment(
    harness: Harness,
) -> None:
    files = {
        "pyproject.toml": PYPROJECT_WITH_TEST_EXTRA,
        "calc.py": CALC,
        "test_calc.py": TEST_CALC,
    }
    [first] = await run_commit(harness, files)
    assert first.conclusion == "success", first.output.text
    assert first.output.title == "1 test passed"
    assert "Environment: built" in (first.output.summary or "")
    [run] = await run_commit(harness, {"test_more.py": "def test_more():\n    assert True\n"})
    assert run.conclusion == "success"
    assert run.output.title == "2 tests passed"
    assert "Environment: reused" in (run.output.summary or "")


async def test_a_failing_install_fails_the_check_and_says_which_command(harness: Harness) -> None:
    config = """\
        [tool.conveyor.checks.tests]
        install = ["pip install conveyor-no-such-package-7f3a9"]
        run = ["pytest"]
        """
    [run] = await run_commit(
        harness, project(pyproject_DOT_toml=config) | {"test_calc.py": TEST_CALC, "calc.py": CALC}
    )
    assert run.conclusion == "failure"
    assert run.output.title == "Install failed"
    assert "conveyor-no-such-package-7f3a9" in (run.output.summary or "")


async def test_a_config_error_names_the_file_and_line(harness: Harness) -> None:
    config = "[tool.conveyor.checks.tests]\ninstall = ['pip install pytest']\nrum = ['pytest']\n"
    [run] = await run_commit(
        harness, {"pyproject.toml": config, "test_calc.py": TEST_CALC, "calc.py": CALC}
    )
    assert run.conclusion == "failure"
    assert run.output.title == "Configuration error"
    assert "pyproject.toml:3" in (run.output.summary or "")


async def test_a_project_with_no_tests_is_neutral(harness: Harness) -> None:
    [run] = await run_commit(harness, {"README.md": "# nothing to test\n", "calc.py": CALC})
    assert run.conclusion == "neutral"
    assert run.output.title == "No tests found"


async def test_two_python_versions_give_two_check_runs(harness: Harness) -> None:
    config = """\
        [tool.conveyor.checks.tests]
        python = ["3.11", "3.12"]
        install = ["pip install pytest"]
        run = ["pytest"]
        """
    version_test = (
        "import sys\n\n\ndef test_version():\n"
        "    print(sys.version)\n    assert sys.version_info[:2] in ((3, 11), (3, 12))\n"
    )
    runs = await run_commit(
        harness, {"pyproject.toml": textwrap.dedent(config), "test_v.py": version_test}, count=2
    )
    # The first job, named `tests` before the plan was known, took the first planned name.
    assert sorted(r.name for r in runs) == ["tests (3.11)", "tests (3.12)"]
    assert [r.conclusion for r in runs] == ["success", "success"]
    by_name = {r.name: r for r in runs}
    assert "Python 3.12." in (by_name["tests (3.12)"].output.summary or "")
    assert "Python 3.11." in (by_name["tests (3.11)"].output.summary or "")


async def test_a_missing_python_fails_and_names_the_available_ones(harness: Harness) -> None:
    config = '[tool.conveyor.checks.tests]\npython = ["3.4"]\nrun = ["pytest"]\n'
    [run] = await run_commit(harness, {"pyproject.toml": config, "test_calc.py": TEST_CALC})
    assert run.conclusion == "failure"
    assert run.output.title == "Python 3.4 is not available"
    assert "3.11." in (run.output.summary or "")


async def test_a_timeout_ends_timed_out(harness: Harness) -> None:
    # Nothing to install (unittest is Python's own), though the environment is made within the
    # timeout: 20 s leaves room for that on a machine busy with other tests.
    config = """\
        [tool.conveyor.checks.tests]
        install = []
        run = ["python -m unittest -v"]
        timeout = 20
        """
    slow = textwrap.dedent(
        """\
        import time
        import unittest


        class Slow(unittest.TestCase):
            def test_slow(self):
                print("the slow test started", flush=True)
                time.sleep(600)
        """
    )
    [run] = await run_commit(
        harness, {"pyproject.toml": textwrap.dedent(config), "test_slow.py": slow}
    )
    assert run.conclusion == "timed_out"
    assert (run.output.title or "").startswith("Timed out after")
    assert "the slow test started" in (run.output.text or ""), run.output


async def test_the_tests_cannot_reach_the_network(harness: Harness, listener: int) -> None:
    attempt = f"""\
        import socket

        import pytest


        def test_no_network():
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", {listener}), timeout=3)
            with pytest.raises(OSError):
                socket.getaddrinfo("pypi.org", 443)
        """
    config = '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest"]\n'
    [run] = await run_commit(
        harness, {"pyproject.toml": config, "test_net.py": textwrap.dedent(attempt)}
    )
    assert run.conclusion == "success", run.output.text


async def test_the_tests_cannot_see_the_data_folder_or_the_key(harness: Harness) -> None:
    data = harness.tmp / "data"
    attempt = f"""\
        import os
        from pathlib import Path


        def test_no_data_folder():
            assert not Path({str(data)!r}).exists()
            assert not Path({str(data / "conveyor.sqlite3")!r}).exists()


        def test_no_key_in_the_environment_or_other_processes():
            assert not [k for k in os.environ if k.startswith("GITHUB_")]
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        environ = Path(f"/proc/{{pid}}/environ").read_bytes()
                    except OSError:
                        continue
                    assert b"PRIVATE KEY" not in environ


        def test_not_root():
            assert os.getuid() != 0
        """
    config = '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest"]\n'
    [run] = await run_commit(
        harness, {"pyproject.toml": config, "test_spy.py": textwrap.dedent(attempt)}
    )
    assert run.conclusion == "success", run.output.text
    assert run.output.title == "3 tests passed"


async def test_tests_that_use_too_much_memory_are_stopped(harness: Harness) -> None:
    hog = "def test_hog():\n    blocks = [bytearray(64 * 1024 * 1024) for _ in range(40)]\n"
    config = '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest"]\n'
    [run] = await run_commit(harness, {"pyproject.toml": config, "test_hog.py": hog})
    assert run.conclusion == "failure"
    assert "memory" in f"{run.output.title} {run.output.summary}".lower()


async def test_a_fork_bomb_is_contained(harness: Harness) -> None:
    # A sleep no other process on this machine has (tests run in parallel), far longer than the
    # wait below: one found then outlived the run.
    mark = f"600.{secrets.randbelow(10**9):09d}"
    bomb = textwrap.dedent(
        f"""\
        import subprocess


        def test_bomb():
            children = []
            for _ in range(5000):
                children.append(subprocess.Popen(["sleep", "{mark}"]))
        """
    )
    config = '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest"]\n'
    [run] = await run_commit(harness, {"pyproject.toml": config, "test_bomb.py": bomb})
    assert run.conclusion == "failure"
    await until_none_left(mark)


async def test_a_tox_project_is_run_as_its_tox_env_says(harness: Harness) -> None:
    tox = """\
        [tox]
        envlist = py3
        [testenv]
        deps = pytest
        commands = pytest {posargs:-q}
        """
    [run] = await run_commit(
        harness, {"tox.ini": textwrap.dedent(tox), "calc.py": CALC, "test_calc.py": TEST_CALC}
    )
    assert run.conclusion == "success", run.output.text
    assert run.output.title == "1 test passed"
    assert "tox" in (run.output.summary or "")


async def test_a_nox_project_is_run_as_its_session_says(harness: Harness) -> None:
    noxfile = """\
        import nox


        @nox.session
        def tests(session):
            session.install("pytest")
            session.run("pytest", "-q")
        """
    [run] = await run_commit(
        harness,
        {"noxfile.py": textwrap.dedent(noxfile), "calc.py": CALC, "test_calc.py": TEST_CALC},
    )
    assert run.conclusion == "success", run.output.text
    assert run.output.title == "1 test passed"
    assert "nox" in (run.output.summary or "")


async def test_a_dependency_groups_project_installs_its_test_group(harness: Harness) -> None:
    pyproject = """\
        [project]
        name = "sample"
        version = "0.1"
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [tool.setuptools]
        py-modules = ["calc"]
        [dependency-groups]
        test = ["pytest"]
        """
    [run] = await run_commit(
        harness,
        {"pyproject.toml": textwrap.dedent(pyproject), "calc.py": CALC, "test_calc.py": TEST_CALC},
    )
    assert run.conclusion == "success", run.output.text
    assert run.output.title == "1 test passed"
    assert "dependency group" in (run.output.summary or "")


async def test_tests_that_fill_the_disk_are_stopped(harness: Harness) -> None:
    filler = textwrap.dedent(
        """\
        from pathlib import Path


        def test_fill():
            folder = Path("filler")  # in the workspace, on the machine's disk
            folder.mkdir()
            block = b"x" * (1024 * 1024)
            for n in range(2000):  # stops itself at 2 GiB if the budget were not enforced
                (folder / str(n)).write_bytes(block)
        """
    )
    config = '[tool.conveyor.checks.tests]\ninstall = ["pip install pytest"]\nrun = ["pytest"]\n'
    [run] = await run_commit(harness, {"pyproject.toml": config, "test_fill.py": filler})
    assert run.conclusion == "failure"
    assert run.output.title == "Stopped by the disk limit (300 MiB)"
