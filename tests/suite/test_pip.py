"""Without a tool's configuration: what the project declares for its tests, installed with pip
(or Poetry), then pytest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.suite import projects
from tests.suite.projects import write
from tests.suite.test_detect import planned_tests

# ---- dependency groups, extras, requirements


def test_dependency_groups_pydantic_like(tmp_path: Path) -> None:
    check = planned_tests(projects.pydantic_like(tmp_path))
    # `testing` is the group with pytest (`dev` includes it too, but also the linters), installed
    # from uv.lock: the versions the project is tested with.
    assert check.install == (
        "python -m pip install -q uv",
        'UV_PROJECT_ENVIRONMENT="$VIRTUAL_ENV" UV_PYTHON="$VIRTUAL_ENV/bin/python" '
        "UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1 "
        "uv sync --frozen --inexact --no-default-groups --group testing",
    )
    assert check.test == ("python -m pytest",)  # [tool.pytest.ini_options] says where
    assert check.dependency_files == ("pyproject.toml", "uv.lock")
    assert check.explanation[0] == (
        "Detected: dependency group `testing` in pyproject.toml; the project itself (editable); "
        "the locked versions of uv.lock (`uv sync --frozen`); pytest."
    )


def test_without_a_lock_pip_installs_the_group(tmp_path: Path) -> None:
    projects.pydantic_like(tmp_path)
    (tmp_path / "uv.lock").unlink()
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install --group testing -e .",)
    assert not check.network


def test_extras(tmp_path: Path) -> None:
    check = planned_tests(projects.extras_project(tmp_path))
    assert check.install == ("python -m pip install -e '.[test]'",)
    # No pytest configuration: point it at tests/, as a person would.
    assert check.test == ("python -m pytest tests",)
    assert check.explanation[0] == (
        "Detected: the project itself (editable) with its extra `test`; pytest."
    )


def test_httpx_like_requirements_txt_installs_the_project_and_tools(tmp_path: Path) -> None:
    check = planned_tests(projects.httpx_like(tmp_path))
    assert check.install == ("python -m pip install -r requirements.txt -e .",)
    assert check.test == ("python -m pytest",)
    assert check.dependency_files == ("pyproject.toml", "requirements.txt")
    assert check.explanation[0] == (
        "Detected: `requirements.txt`; the project itself (editable); pytest."
    )


def test_requests_like_dev_requirements(tmp_path: Path) -> None:
    check = planned_tests(projects.requests_like(tmp_path))
    # The `socks` extra is not for tests: the project is installed plain.
    assert check.install == ("python -m pip install -r requirements-dev.txt -e .",)
    assert check.test == ("python -m pytest tests",)
    assert check.dependency_files == ("setup.py", "requirements-dev.txt")
    assert check.explanation[0] == (
        "Detected: `requirements-dev.txt`; the project itself (editable); pytest."
    )


@pytest.mark.parametrize(
    ("files", "chosen"),
    [
        ({"requirements/tests.in": "", "requirements/tests.txt": ""}, "requirements/tests.txt"),
        ({"requirements/dev.txt": "", "requirements/test.txt": ""}, "requirements/test.txt"),
        ({"requirements/test_requirements.txt": ""}, "requirements/test_requirements.txt"),
        ({"test-requirements.txt": "", "dev-requirements.txt": ""}, "test-requirements.txt"),
        ({"requirements_dev.txt": ""}, "requirements_dev.txt"),
        ({"tests/requirements.txt": "", "requirements-dev.txt": ""}, "tests/requirements.txt"),
        ({"requirements/tests.in": ""}, "requirements/tests.in"),
    ],
)
def test_which_requirements_file(tmp_path: Path, files: dict[str, str], chosen: str) -> None:
    write(tmp_path, {**files, "test_x.py": "def test_x():\n    pass\n"})
    check = planned_tests(tmp_path)
    assert check.install == (f"python -m pip install -r {chosen} pytest",)


def test_requirements_includes_are_followed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements/tests.txt": "-r base.txt\n-c ../constraints.txt\npytest  # runner\n",
            "requirements/base.txt": "six\n",
            "constraints.txt": "six<2\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    # pytest is declared (through the file), so it is not added again.
    assert check.install == ("python -m pip install -r requirements/tests.txt",)
    assert check.dependency_files == (
        "requirements/tests.txt",
        "requirements/base.txt",
        "constraints.txt",
    )


# Requirements files that lead outside the repository (issue 9): neither read nor keyed on.
HOST_REQUIREMENTS = "pytest\nSECRET-CANARY-1234\n"


def repo_beside_host_requirements(tmp_path: Path) -> tuple[Path, Path]:
    host = tmp_path / "host"
    host.mkdir()
    (host / "tests.txt").write_text(HOST_REQUIREMENTS)
    repo = write(tmp_path / "repo", {"tests/test_x.py": "def test_x():\n    pass\n"})
    return repo, host


def test_a_requirements_file_linked_outside_is_not_a_source(tmp_path: Path) -> None:
    repo, host = repo_beside_host_requirements(tmp_path)
    (repo / "requirements.txt").symlink_to(host / "tests.txt")
    (repo / "requirements-test.txt").symlink_to("../host/tests.txt")
    check = planned_tests(repo)
    assert check.install == ("python -m pip install pytest",)
    assert check.dependency_files == ()


def test_a_requirements_folder_linked_outside_is_not_listed(tmp_path: Path) -> None:
    repo, host = repo_beside_host_requirements(tmp_path)
    (repo / "requirements").symlink_to(host, target_is_directory=True)
    check = planned_tests(repo)
    assert check.install == ("python -m pip install pytest",)
    assert check.dependency_files == ()


def test_a_requirements_folder_linked_inside_is_listed(tmp_path: Path) -> None:
    repo, _ = repo_beside_host_requirements(tmp_path)
    write(repo, {"ci/requirements/tests.txt": "pytest\n"})
    (repo / "requirements").symlink_to("ci/requirements", target_is_directory=True)
    check = planned_tests(repo)
    assert check.install == ("python -m pip install -r requirements/tests.txt",)
    assert check.dependency_files == ("requirements/tests.txt",)


def test_includes_that_lead_outside_are_not_followed(tmp_path: Path) -> None:
    repo, host = repo_beside_host_requirements(tmp_path)
    write(
        repo,
        {
            "requirements-test.txt": f"-r {host / 'tests.txt'}\n-r link.txt\n-c ../host/x\nsix\n",
        },
    )
    (repo / "link.txt").symlink_to(host / "tests.txt")
    check = planned_tests(repo)
    # pytest would be declared only by the host's file: it is installed as undeclared.
    assert check.install == ("python -m pip install -r requirements-test.txt pytest",)
    assert check.dependency_files == ("requirements-test.txt",)
    assert (host / "tests.txt").read_text() == HOST_REQUIREMENTS


def test_group_without_pytest_gives_way_to_the_one_with_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[dependency-groups]\ntest = ["coverage"]\n'
            'dev = ["pytest", "ruff"]\n',
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install --group dev",)


def test_uv_application_is_not_a_package(tmp_path: Path) -> None:
    """[project] without [build-system]: uv does not install it; neither does Conveyor."""
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [project]
                name = "service"
                version = "0"
                dependencies = ["six>=1.16", "attrs"]

                [dependency-groups]
                dev = ["pytest>=8"]
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install --group dev 'six>=1.16' attrs",)
    assert check.explanation[0] == (
        "Detected: dependency group `dev` in pyproject.toml; the dependencies in `[project]` "
        "(the project is not a package); pytest."
    )


def test_setup_cfg_extra_and_tests_require(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "setup.py": "from setuptools import setup\nsetup(tests_require=['mock', 'pytest'])\n",
            "setup.cfg": "[metadata]\nname = x\n\n[options.extras_require]\ntesting =\n"
            "    pytest\n    hypothesis\n",
            "testing/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install -e '.[testing]' mock pytest",)
    assert check.test == ("python -m pytest",)


def test_pdm_dev_dependencies(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": projects.SETUPTOOLS_BUILD
            + '[project]\nname = "x"\nversion = "1"\n\n[tool.pdm.dev-dependencies]\n'
            'test = ["pytest", "-e file:///${PROJECT_ROOT}/plugins"]\nlint = ["ruff"]\n',
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install -e . pytest",)


# ---- Poetry


def test_poetry_groups_are_installed_by_poetry(tmp_path: Path) -> None:
    check = planned_tests(projects.poetry_project(tmp_path))
    # One command: Poetry's own venv (kept with the downloads, made when missing), then Poetry
    # installing into the check's venv.
    (install,) = check.install
    assert 'pip install --quiet "$1"; }\' "$CONVEYOR_TOOL" poetry; }; } && ' in install
    assert "VIRTUAL_ENV=\"$(python -c 'import sys; print(sys.prefix)')\" " in install
    assert install.endswith(
        'POETRY_VIRTUALENVS_CREATE=false "$CONVEYOR_TOOL"/bin/poetry install --no-interaction'
        " --with test"
    )
    assert check.test == ("python -m pytest tests",)
    assert check.dependency_files == ("pyproject.toml", "poetry.lock")
    assert check.explanation[:2] == (
        "Detected: Poetry group `test` (installed with `poetry install --with test`); pytest.",
        "Poetry installs the locked versions from poetry.lock.",
    )


def test_poetry_legacy_dev_dependencies_without_pytest(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.poetry]\nname = "x"\n\n[tool.poetry.dev-dependencies]\n'
            'black = "*"\n',
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install[0].endswith("poetry install --no-interaction")
    assert check.install[1] == "python -m pip install pytest"
    assert "Poetry dev-dependencies" in check.explanation[0]


def test_the_extras_the_project_s_ci_installs_are_installed(tmp_path: Path) -> None:
    # Shaped like a library whose tests import the modules of its optional extras: its
    # workflow installs `.[test,yaml]`, and `uv sync --extra toml` in another job.
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [build-system]
                requires = ["setuptools>=61"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "lib"
                version = "1"

                [project.optional-dependencies]
                test = ["pytest"]
                yaml = ["pyyaml"]
                toml = ["tomli-w"]
                docs = ["sphinx"]
                """,
            ".github/workflows/tests.yml": """
                jobs:
                  test:
                    steps:
                      - run: python -m pip install -e ".[test,yaml]"  # and the matrix's:
                      - run: pip install .[${{ matrix.extra }}]
                  other:
                    steps:
                      - run: uv sync --extra toml --group dev
                """,
            "tests/test_x.py": "import yaml\n\ndef test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install -e '.[test,yaml,toml]'",)
    assert "its GitHub workflows install `test,yaml,toml`" in check.explanation[0]


def test_pytest_collects_what_the_project_s_ci_collects(tmp_path: Path) -> None:
    # Shaped like toolz: CI runs `pytest --doctest-modules toolz/`, the package's doctests too.
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "lib"\nversion = "1"\n',
            "lib/__init__.py": 'def one():\n    """>>> one()\n    1\n    """\n    return 1\n',
            "lib/tests/test_lib.py": "def test_x():\n    pass\n",
            ".github/workflows/ci.yml": (
                "steps:\n  - run: coverage run -m pytest --doctest-modules lib/\n"
            ),
        },
    )
    check = planned_tests(tmp_path)
    assert check.test == ("python -m pytest --doctest-modules lib/",)
    assert "with `--doctest-modules lib/` as the project's CI runs it" in check.explanation[0]


def test_all_extras_in_ci_means_every_declared_extra(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'
            'build-backend = "hatchling.build"\n\n[project]\nname = "lib"\nversion = "1"\n\n'
            '[project.optional-dependencies]\npandas = ["pandas"]\nemail = ["email-validator"]\n',
            ".github/workflows/ci.yml": "steps:\n  - run: uv sync --all-extras --group testing\n",
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install -e '.[email,pandas]' pytest",)


def test_without_ci_the_extras_bringing_what_the_tests_import_are_installed(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [build-system]
                requires = ["setuptools>=61"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "lib"
                version = "1"
                dependencies = ["attrs"]

                [project.optional-dependencies]
                test = ["pytest"]
                yaml = ["PyYAML>=6"]
                dates = ["python-dateutil"]
                images = ["Pillow"]
                attrs = ["attrs"]
                docs = ["sphinx"]
                """,
            "tests/test_x.py": "import os\nimport attr\nimport yaml\n\ndef test_x():\n    pass\n",
            "tests/test_y.py": "from dateutil import tz\nfrom PIL import Image\n",
        },
    )
    check = planned_tests(tmp_path)
    # `attr` comes with the base dependencies; `docs` brings nothing the tests import.
    assert check.install == ("python -m pip install -e '.[test,yaml,dates,images]'",)
    assert "its tests import what `yaml,dates,images` brings" in check.explanation[0]
