"""hatch environments and scripts, translated or run by hatch."""

from __future__ import annotations

from pathlib import Path

from tests.suite import projects
from tests.suite.projects import write
from tests.suite.test_detect import planned_tests


def test_hatch_script(tmp_path: Path) -> None:
    check = planned_tests(projects.hatch_project(tmp_path))
    assert check.install == ("python -m pip install pytest pytest-cov -e .",)
    assert check.test == ("pytest tests",)
    assert check.explanation[0] == (
        "Detected: script `test` of hatch env `default` in pyproject.toml."
    )


def test_hatch_scripts_call_scripts_and_ignore_errors(tmp_path: Path) -> None:
    projects.hatch_project(tmp_path)
    text = (tmp_path / "pyproject.toml").read_text().replace('test = "pytest', 'unit = "pytest')
    text = text.replace("test --cov", "unit --cov")
    write(tmp_path, {"pyproject.toml": text})
    check = planned_tests(tmp_path)
    assert check.test == ("pytest tests --cov=shapes", "coverage report || true")


def test_hatch_test_env_and_template(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "hatch.toml": '[envs.hatch-test]\nextra-dependencies = ["six"]\n'
            'features = ["cli"]\n\n[envs.hatch-test.env-vars]\nMODE = "test"\n',
            "pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'
            'build-backend = "hatchling.build"\n\n[project]\nname = "x"\nversion = "1"\n',
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == (
        "python -m pip install pytest pytest-mock pytest-randomly pytest-rerunfailures "
        "pytest-xdist 'coverage[toml]' six -e '.[cli]'",
    )
    assert check.test == ("python -m pytest tests -p no:randomly",)
    assert check.env == (("MODE", "test"),)
    assert check.dependency_files == ("pyproject.toml", "hatch.toml")


def test_hatch_script_with_unknown_context_runs_hatch(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[tool.hatch.envs.test.scripts]\n"
            'test = "pytest {env:PYTEST_ADDOPTS}"\n',
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    data = 'HATCH_DATA_DIR="$CONVEYOR_TOOL_ENVIRONMENTS"'
    assert check.install == ("python -m pip install hatch", f"{data} hatch env create test")
    assert check.test == (f"{data} hatch run test:test",)
    assert check.network
    assert "the context field `{env:PYTEST_ADDOPTS}`" in check.explanation[1]
