"""tox's TOML configuration read into an env: `[tool.tox]` in pyproject.toml and tox.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from app.suite.tox_toml import toml_env, toml_env_list
from tests.suite.projects import write
from tests.suite.test_detect import planned_tests
from tests.suite.test_tox import TOX_ITSELF

TOX_TOML = """
env_list = ["3.12", 7]

[env_run_base]
deps = ["pytest", "-r requirements.txt"]
set_env = { A = "1", B = { replace = "env", name = "CONVEYOR_TEST_UNSET", default = "d" } }
commands = [
    ["pytest", { replace = "posargs", default = ["-q"] }],
    { replace = "posargs", default = [["a"], ["b"]] },
]

[env."3.12"]
extras = ["test"]
package = "editable"
"""


def test_the_env_list_else_the_envs_named() -> None:
    assert toml_env_list(tomllib.loads(TOX_TOML)) == ["3.12"]  # a name is text
    assert toml_env_list({"env": {"lint": {}, "tests": {}}}) == ["lint", "tests"]


def test_an_env_is_its_own_table_over_the_base() -> None:
    env = toml_env(tomllib.loads(TOX_TOML), "3.12", "tox.toml")
    assert env.deps == ("pytest", "-r", "requirements.txt")
    assert env.extras == ("test",)
    assert env.editable
    assert env.setenv == (("A", "1"), ("B", "d"))
    # posargs' defaults: arguments of one command, or whole commands.
    assert env.commands == ("pytest -q", "a", "b")
    assert (env.source, env.problems) == ("tox.toml", ())


def test_what_is_computed_otherwise_is_a_problem() -> None:
    config = tomllib.loads(
        'env_run_base.set_env.C = { replace = "ref", of = ["x"] }\n'
        'env_run_base.commands = ["not a list", [{ replace = "glob" }]]\n'
        'env_run_base.package = "external"\n'
    )
    assert toml_env(config, "py").problems == (
        "a computed value in `set_env.C`",
        "a command that is not a list",
        "the replacement `{'replace': 'glob'}`",
        "`package = external`",
    )


def test_set_env_in_toml_is_written_from_change_dir(tmp_path: Path) -> None:
    # As for tox.ini (e626e0b): the commands that read COVERAGE_FILE run in change_dir. Before:
    # `.tox/c` from the root, read from tests/ as tests/.tox/c.
    write(
        tmp_path,
        {
            "tox.toml": """
                env_list = ["3.12"]

                [env_run_base]
                skip_install = true
                change_dir = "{tox_root}/tests"
                set_env = { COVERAGE_FILE = "{work_dir}/c", CONFIG = "{tox_root}{/}setup.cfg" }
                commands = [["pytest"]]
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.env == (("COVERAGE_FILE", "../.tox/c"), ("CONFIG", "../setup.cfg"))
    assert check.test == ("mkdir -p .tox && cd tests && pytest",)


def test_toml_env_replacements_in_set_env_and_commands(tmp_path: Path) -> None:
    # filelock's and platformdirs' shape. Before: `set_env.X = { replace = "env", ... }` was
    # refused as computed and tox itself ran; a `posargs` replacement standing for whole
    # commands was refused as a command that is not a list.
    write(
        tmp_path,
        {
            "tox.toml": """
                env_list = ["3.12", "docs"]

                [env_run_base]
                skip_install = true
                set_env.COVERAGE_FILE.replace = "env"
                set_env.COVERAGE_FILE.name = "COVERAGE_FILE"
                set_env.COVERAGE_FILE.default = "{work_dir}{/}.coverage.{env_name}"
                set_env.PYTHONPATH = "{tox_root}{/}tasks"
                commands = [
                    ["pytest", { replace = "posargs", default = ["tests"], extend = true }],
                    { replace = "posargs", default = [
                        ["diff-cover", { replace = "env", name = "DIFF", default = "origin/main" }],
                        ["echo", "done"],
                    ], extend = true },
                    { replace = "posargs", default = ["python", "patch.py"] },
                    [],
                ]
                """,
            "tests/test_x.py": "def test_x():\n    pass\n",
        },
    )
    check = planned_tests(tmp_path)
    assert check.env == (("COVERAGE_FILE", ".tox/.coverage.3.12"), ("PYTHONPATH", "./tasks"))
    assert check.test == (
        "mkdir -p .tox && pytest tests",
        'diff-cover "${DIFF-origin/main}"',
        "echo done",
        "python patch.py",
    )
    assert not check.network

    # A value under a marker depends on the machine tox runs on: tox itself decides.
    write(
        tmp_path,
        {
            "tox.toml": 'env_list = ["3.12"]\n[env_run_base]\nskip_install = true\n'
            'set_env.A = { value = "1", marker = "sys_platform == \'linux\'" }\n'
            'commands = [["pytest"]]\n',
        },
    )
    check = planned_tests(tmp_path)
    assert check.test == (TOX_ITSELF,)
    assert "a computed value in `set_env.A`" in check.explanation[1]
