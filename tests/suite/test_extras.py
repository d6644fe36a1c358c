"""app/suite/extras.py: which extras bring the modules the tests import, and one retry with the
extra a failed import names."""

from __future__ import annotations

import os
from pathlib import Path

from app.suite.extras import (
    extra_for_module,
    extras_the_tests_import,
    module_of,
    retry_with_extra,
)
from app.suite.plan import CheckSpec
from tests.suite.projects import write
from tests.suite.test_detect import planned_tests


def test_a_distribution_s_module_is_its_name_its_known_module_or_its_name_without_py() -> None:
    assert module_of("requests") == {"requests"}
    assert module_of("typing-extensions") == {"typing_extensions"}
    assert module_of("pillow") == {"PIL"}
    assert module_of("beautifulsoup4") == {"bs4"}
    assert module_of("pyyaml") == {"pyyaml", "yaml"}
    assert module_of("python-dateutil") == {"python_dateutil", "dateutil"}
    # A prefix is not the whole name: `py` alone or `pyx` does not make a module `x`.
    assert module_of("py") == {"py"}
    assert module_of("pyx") == {"pyx"}


def test_the_extra_bringing_a_module_is_found_unless_a_base_dependency_brings_it() -> None:
    extras = {"yaml": ["PyYAML>=6"], "dates": ["python-dateutil ; python_version>'3'"]}
    assert extra_for_module("yaml", extras) == "yaml"
    assert extra_for_module("dateutil", extras) == "dates"
    assert extra_for_module("numpy", extras) is None
    assert extra_for_module("yaml", extras, base=["pyyaml"]) is None
    assert extra_for_module("yaml", {}) is None


def test_the_extras_the_tests_import_in_the_order_first_imported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/test_a.py": "import os\nfrom dateutil import parser\nimport yaml\n",
            "tests/test_b.py": "import yaml.constructor\nimport PIL\nimport attr\n",
            "tests/conftest.py": "    import toml  # indented imports count too\n",
            "tests/helpers.py": "import sphinx\n",
        },
    )
    extras = {
        "yaml": ["pyyaml"],
        "dates": ["python-dateutil"],
        "images": ["Pillow"],
        "toml": ["toml"],
        "docs": ["sphinx"],
    }
    found = extras_the_tests_import(
        tmp_path, ["tests/test_a.py", "tests/test_b.py"], extras, base=["attrs"]
    )
    # The conftest.py files are read after the test files, other files not at all; `os` is the
    # standard library's; `attr` comes with the base dependencies.
    assert found == ("dates", "yaml", "images", "toml")
    assert extras_the_tests_import(tmp_path, [], extras) == ("toml",)


def test_test_files_missing_or_leading_outside_are_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("import yaml\n")
    root = tmp_path / "repo"
    write(root, {"tests/test_ok.py": "import PIL\n"})
    os.symlink(outside, root / "tests" / "test_link.py")
    found = extras_the_tests_import(
        root,
        ["tests/test_link.py", "tests/test_gone.py", "tests/test_ok.py"],
        {"yaml": ["pyyaml"], "images": ["pillow"]},
    )
    assert found == ("images",)


def test_no_retry_without_a_failed_import_or_a_pip_install_of_the_project(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n'
            '[project.optional-dependencies]\nyaml = ["pyyaml"]\n'
        },
    )
    failed = "ModuleNotFoundError: No module named 'yaml'"
    spec = CheckSpec(
        "tests", "", ("python -m pip install -e .",), ("pytest",), explanation=("a", "b")
    )
    assert retry_with_extra(spec, tmp_path, "1 failed") is None
    # Installed from a lock, or only a requirements file: no `.` whose extras could be added.
    for install in ("uv sync --frozen", "python -m pip install -r requirements.txt"):
        assert (
            retry_with_extra(CheckSpec("tests", "", (install,), ("pytest",)), tmp_path, failed)
            is None
        )
    again = retry_with_extra(spec, tmp_path, failed)
    assert again is not None
    assert again.install == ("python -m pip install -e '.[yaml]'",)
    # The line goes before the last one (how to change it).
    assert again.explanation[0] == "a"
    assert again.explanation[-1] == "b"
    # A base dependency brings it: the extra would not help.
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["pyyaml"]\n'
            '[project.optional-dependencies]\nyaml = ["pyyaml"]\n'
        },
    )
    assert retry_with_extra(spec, tmp_path, failed) is None


def test_a_failed_import_that_an_extra_brings_gets_one_retry_with_it(tmp_path: Path) -> None:
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
                yaml = ["PyYAML"]
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.install == ("python -m pip install -e '.[test]'",)
    output = "E   ModuleNotFoundError: No module named 'yaml.constructor'\n"
    again = retry_with_extra(check, tmp_path, output)
    assert again is not None
    assert again.install == ("python -m pip install -e '.[test,yaml]'",)
    assert "could not import `yaml`, which the project's extra `yaml` brings" in " ".join(
        again.explanation
    )
    assert retry_with_extra(again, tmp_path, output) is None  # once only
    assert retry_with_extra(check, tmp_path, "No module named 'numpy'") is None
