"""app/suite/from_checkout.py: the install that replaces a failed install of the project."""

from __future__ import annotations

from pathlib import Path

from app.suite.from_checkout import from_checkout
from app.suite.plan import CheckSpec

from .projects import write

PYPROJECT = """
    [project]
    name = "lib"
    version = "1"
    dependencies = ["attrs>=22", "iniconfig"]

    [project.optional-dependencies]
    test = ["pytest", "lib[yaml]"]
    yaml = ["PyYAML"]
    """


def spec(*install: str) -> CheckSpec:
    return CheckSpec("tests", "", install, ("pytest",), explanation=("Detected: x", "To change"))


def test_the_project_s_dependencies_and_extras_replace_it(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": PYPROJECT, "src/lib/__init__.py": ""})
    failed = "python -m pip install -e '.[test,yaml]' -r requirements-dev.txt"

    found = from_checkout(spec("true", failed), tmp_path, failed)

    assert found is not None
    assert found.install == (
        "true",
        "python -m pip install 'attrs>=22' iniconfig pytest PyYAML -r requirements-dev.txt",
    )
    assert found.env == (("PYTHONPATH", "src"),)
    assert "run from the checkout, with `src` on PYTHONPATH" in found.explanation[1]
    assert found.explanation[-1] == "To change"


def test_a_flat_layout_runs_from_the_root(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": PYPROJECT, "lib/__init__.py": ""})
    found = from_checkout(spec("python -m pip install ."), tmp_path, "python -m pip install .")
    assert found is not None
    assert found.install == ("python -m pip install 'attrs>=22' iniconfig",)
    assert found.env == (("PYTHONPATH", "."),)


def test_nothing_when_the_dependencies_are_not_written_down(tmp_path: Path) -> None:
    dynamic = PYPROJECT.replace(
        'dependencies = ["attrs>=22", "iniconfig"]', "dynamic = ['dependencies']"
    )
    write(tmp_path, {"pyproject.toml": dynamic})
    failed = "python -m pip install -e ."
    assert from_checkout(spec(failed), tmp_path, failed) is None
    write(tmp_path, {"pyproject.toml": PYPROJECT})
    other = "python -m pip install -r requirements.txt"  # not the project itself
    assert from_checkout(spec(other), tmp_path, other) is None
