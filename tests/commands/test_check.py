"""`python -m app check PATH`: a local checkout's checks, run as the service runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
[tool.conveyor.checks.tests]
install = ["pip install pytest"]
run = ["pytest"]
"""


@pytest.fixture
def cache(tmp_path: Path, venv_templates: Path) -> Path:
    """The command's cache folder (XDG_CACHE_HOME), with the session's venv templates."""
    environments = tmp_path / "cache" / "conveyor" / "environments"
    environments.mkdir(parents=True)
    (environments / ".venvs").symlink_to(venv_templates, target_is_directory=True)
    return tmp_path / "cache"


def check(project: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "check", str(project)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(cache), "XDG_CACHE_HOME": str(cache)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def write(project: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(body)
    return project


def test_a_passing_project_exits_0(tmp_path: Path, cache: Path) -> None:
    project = write(
        tmp_path / "ok",
        {"pyproject.toml": CONFIG, "test_ok.py": "def test_ok():\n    assert 1 + 1 == 2\n"},
    )
    result = check(project, cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("✔ tests: success — 1 test passed")


def test_a_failing_project_exits_1_and_prints_the_annotations(tmp_path: Path, cache: Path) -> None:
    project = write(
        tmp_path / "bad",
        {
            "pyproject.toml": CONFIG,
            "test_bad.py": "def test_bad():\n    total = 1 + 1\n    assert total == 3\n",
        },
    )
    result = check(project, cache)
    assert result.returncode == 1
    assert result.stdout.startswith("✖ tests: failure — 1 test failed")
    assert "  test_bad.py:3: assert 2 == 3" in result.stdout.splitlines()
    assert not (project / ".pytest_cache").exists()  # the checkout itself is left as it was


def test_a_config_error_names_file_and_line(tmp_path: Path, cache: Path) -> None:
    project = write(tmp_path / "cfg", {"pyproject.toml": "[tool.conveyor.checks.tests]\nrum = 1\n"})
    result = check(project, cache)
    assert result.returncode == 1
    assert "pyproject.toml:2" in result.stdout


def test_a_module_an_extra_brings_imported_behind_the_tests_gets_one_retry_with_it(
    tmp_path: Path,
    cache: Path,
) -> None:
    # The tests import the package; the package imports yaml, which only the extra `yaml`
    # brings. Nothing in the test files names yaml, so only the failed collection says it.
    project = write(
        tmp_path / "lib",
        {
            "pyproject.toml": """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "lib"
version = "1"

[project.optional-dependencies]
test = ["pytest"]
yaml = ["PyYAML"]
""",
            "lib/__init__.py": "",
            "lib/load.py": "import yaml\n\n\ndef load(text):\n    return yaml.safe_load(text)\n",
            "tests/test_load.py": (
                "from lib.load import load\n\n\n"
                "def test_load():\n    assert load('a: 1') == {'a': 1}\n"
            ),
        },
    )
    result = check(project, cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("✔ tests: success — 1 test passed"), result.stdout
    assert "could not import `yaml`, which the project's extra `yaml` brings" in result.stdout


BROKEN_BACKEND = """\
def _refuse(*args, **kwargs):
    raise RuntimeError("this backend cannot build here")


get_requires_for_build_wheel = get_requires_for_build_editable = _refuse
build_wheel = build_editable = prepare_metadata_for_build_wheel = _refuse
"""


def test_a_project_whose_build_fails_is_tested_from_its_checkout(
    tmp_path: Path, cache: Path
) -> None:
    project = write(
        tmp_path / "lib",
        {
            "pyproject.toml": """\
[build-system]
requires = []
build-backend = "broken_backend"
backend-path = ["."]

[project]
name = "lib"
version = "1"
dependencies = ["iniconfig"]

[project.optional-dependencies]
test = ["pytest"]
""",
            "broken_backend.py": BROKEN_BACKEND,
            "src/lib/__init__.py": "import iniconfig\n\nNAME = iniconfig.__name__\n",
            "tests/test_lib.py": "import lib\n\n\ndef test_lib():\n    assert lib.NAME\n",
        },
    )
    result = check(project, cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("✔ tests: success — 1 test passed"), result.stdout
    assert "the tests run from the checkout, with `src` on PYTHONPATH" in result.stdout


def test_a_project_locked_with_uv_is_tested_on_its_locked_versions(
    tmp_path: Path, cache: Path
) -> None:
    # The lock pins iniconfig 1.1.1 (a constraint of uv's own, which pip never reads); installed
    # from pyproject.toml's ranges, pip would take the newest 2.x and the test would fail.
    project = write(
        tmp_path / "lib",
        {
            "pyproject.toml": """\
[project]
name = "lib"
version = "1"
requires-python = ">=3.9"
dependencies = ["iniconfig>=1"]

[dependency-groups]
tests = ["pytest"]

[tool.uv]
constraint-dependencies = ["iniconfig==1.1.1"]
""",
            "tests/test_lock.py": (
                "from importlib.metadata import version\n\n\n"
                "def test_locked():\n    assert version('iniconfig') == '1.1.1'\n"
            ),
        },
    )
    uv = Path(sys.executable).with_name("uv")
    locked = subprocess.run(
        [str(uv), "lock", "--quiet"],
        cwd=project,
        env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert locked.returncode == 0, locked.stderr
    assert 'name = "iniconfig"\nversion = "1.1.1"' in (project / "uv.lock").read_text()
    # uv's pin for developers (typer has one): an interpreter no machine here has.
    (project / ".python-version").write_text("3.7\n")

    result = check(project, cache)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("✔ tests: success — 1 test passed"), result.stdout
    assert "the locked versions of uv.lock (`uv sync --frozen`)" in result.stdout
