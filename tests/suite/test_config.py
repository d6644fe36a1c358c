"""`[tool.conveyor]` and `.conveyor.yml`: valid configurations, and every mistake with its line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.suite.config import load_config
from app.suite.plan import DEFAULT_TIMEOUT, CheckSpec, ConfigError, Plan
from tests.suite.projects import write
from tests.suite.test_repository_files import within

FULL_TOML = """
[project]
name = "site"
version = "1.0"

[tool.conveyor]
python = ["3.11", "3.12"]
timeout = 900

[tool.conveyor.checks.tests]
install = ["pip install -e .[test]", "pip install -r ci/extra.txt"]
run = ["pytest -q"]
timeout = 600
env = { DJANGO_SETTINGS_MODULE = "site.settings" }
network = false
secrets = ["PYPI_TOKEN"]

[tool.conveyor.checks.lint]
install = "pip install ruff"
run = "ruff check ."
python = "3.12"
network = true
"""

FULL_YAML = """
python: ["3.11", "3.12"]
timeout: 900
checks:
  tests:
    install:
      - pip install -e .[test]
      - pip install -r ci/extra.txt
    run: [pytest -q]
    timeout: 600
    env: {DJANGO_SETTINGS_MODULE: site.settings}
    network: false
    secrets: [PYPI_TOKEN]
  lint:
    install: pip install ruff
    run: ruff check .
    python: "3.12"
    network: true
"""


def error(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    return caught.value


def toml(tmp_path: Path, text: str) -> Path:
    return write(tmp_path, {"pyproject.toml": text})


def yml(tmp_path: Path, text: str) -> Path:
    return write(tmp_path, {".conveyor.yml": text})


# ---- valid configurations


def expected_checks(config: str, table_line: int, lint_line: int) -> tuple[CheckSpec, ...]:
    files = (config, "ci/extra.txt")
    tests = {
        "install": ("pip install -e .[test]", "pip install -r ci/extra.txt"),
        "test": ("pytest -q",),
        "timeout": 600.0,
        "env": (("DJANGO_SETTINGS_MODULE", "site.settings"),),
        "network": False,
        "dependency_files": files,
        "secrets": ("PYPI_TOKEN",),
    }
    where = "[tool.conveyor.checks.tests]" if config == "pyproject.toml" else "`checks.tests`"
    lint_where = "[tool.conveyor.checks.lint]" if config == "pyproject.toml" else "`checks.lint`"
    change = "To change what runs, edit it there — see README."
    tests_explained = (f"Configured in {config}: {where}, line {table_line}.", change)
    return (
        CheckSpec(name="tests (3.11)", python="3.11", explanation=tests_explained, **tests),  # type: ignore[arg-type]
        CheckSpec(name="tests (3.12)", python="3.12", explanation=tests_explained, **tests),  # type: ignore[arg-type]
        CheckSpec(
            name="lint",
            python="3.12",
            install=("pip install ruff",),
            test=("ruff check .",),
            timeout=900.0,
            network=True,
            dependency_files=(config,),
            explanation=(f"Configured in {config}: {lint_where}, line {lint_line}.", change),
        ),
    )


def test_full_pyproject_config(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": FULL_TOML, "ci/extra.txt": "six\n"})
    plan = load_config(tmp_path)
    assert plan == Plan(
        checks=expected_checks("pyproject.toml", 9, 17), origin="pyproject.toml [tool.conveyor]"
    )


def test_full_yaml_config(tmp_path: Path) -> None:
    write(tmp_path, {".conveyor.yml": FULL_YAML, "ci/extra.txt": "six\n"})
    plan = load_config(tmp_path)
    assert plan == Plan(checks=expected_checks(".conveyor.yml", 4, 13), origin=".conveyor.yml")


def test_minimal_check_takes_the_defaults(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests:\n    run: pytest\n")
    plan = load_config(tmp_path)
    assert plan is not None
    (check,) = plan.checks
    assert (check.name, check.python, check.install, check.test) == ("tests", "", (), ("pytest",))
    assert (check.timeout, check.env, check.network, check.secrets) == (
        DEFAULT_TIMEOUT,
        (),
        False,
        (),
    )


def test_one_version_keeps_the_name_and_top_level_values_are_defaults(tmp_path: Path) -> None:
    toml(
        tmp_path,
        """
        [tool.conveyor]
        python = "3.13"
        timeout = 120.5
        checks.tests.run = "pytest"
        """,
    )
    plan = load_config(tmp_path)
    assert plan is not None
    assert [(c.name, c.python, c.timeout) for c in plan.checks] == [("tests", "3.13", 120.5)]


def test_no_config_is_none(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 99\n'})
    assert load_config(tmp_path) is None
    assert load_config(tmp_path / "missing") is None


def test_dependency_files_include_what_the_project_has(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".conveyor.yml": "checks:\n  tests:\n    install: pip install -r requirements/ci.txt\n"
            "    run: pytest\n",
            "requirements/ci.txt": "pytest\n",
            "requirements.txt": "six\n",
            "setup.py": "",
            "uv.lock": "",
        },
    )
    plan = load_config(tmp_path)
    assert plan is not None
    assert plan.checks[0].dependency_files == (
        ".conveyor.yml",
        "setup.py",
        "requirements.txt",
        "uv.lock",
        "requirements/ci.txt",
    )


# ---- mistakes: the file, the line, what is wrong and what is allowed


def test_both_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n\n[tool.conveyor.checks.t]\nrun = "pytest"\n',
            ".conveyor.yml": "checks: {t: {run: pytest}}\n",
        },
    )
    problem = error(tmp_path)
    assert (problem.path, problem.line) == ("pyproject.toml", 4)
    assert problem.message == (
        "Conveyor is configured twice: in [tool.conveyor] here and in .conveyor.yml. "
        "Keep one of them."
    )


def test_invalid_toml_even_without_conveyor_table(tmp_path: Path) -> None:
    toml(tmp_path, '[project]\nname = "x"\nversion = \n')
    problem = error(tmp_path)
    assert (problem.path, problem.line) == ("pyproject.toml", 3)
    assert problem.message.startswith("not valid TOML: Invalid value")


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [("- run: pytest\n", 1, "a list"), ("just text\n", 1, "a string ('just text')")],
)
def test_yaml_top_level_must_be_a_mapping(tmp_path: Path, text: str, line: int, shown: str) -> None:
    yml(tmp_path, text)
    problem = error(tmp_path)
    assert (problem.path, problem.line) == (".conveyor.yml", line)
    assert problem.message == f"`the top level` must be a mapping with `checks`, not {shown}."


def test_toml_conveyor_must_be_a_table(tmp_path: Path) -> None:
    toml(tmp_path, '[tool]\nruff = {}\nconveyor = "pytest"\n')
    problem = error(tmp_path)
    assert (problem.path, problem.line) == ("pyproject.toml", 3)
    assert problem.message == (
        "`tool.conveyor` must be a table with `checks`, not a string ('pytest')."
    )


def test_misnamed_yaml(tmp_path: Path) -> None:
    write(tmp_path, {".conveyor.yaml": "checks: {}\n"})
    problem = error(tmp_path)
    assert problem.path == ".conveyor.yaml"
    assert problem.message == "Conveyor reads `.conveyor.yml`: rename this file."


def test_unknown_top_level_key_with_suggestion(tmp_path: Path) -> None:
    toml(tmp_path, '[tool.conveyor]\npython = "3.12"\ntimeuot = 5\n')
    problem = error(tmp_path)
    assert (problem.path, problem.line) == ("pyproject.toml", 3)
    assert problem.message == (
        "unknown key `timeuot` in `tool.conveyor`. Did you mean `timeout`? "
        "Allowed: python, timeout, checks."
    )


def test_unknown_check_key_in_yaml(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests:\n    run: pytest\n    comands: [x]\n")
    problem = error(tmp_path)
    assert (problem.path, problem.line) == (".conveyor.yml", 4)
    assert problem.message == (
        "unknown key `comands` in `checks.tests`. Did you mean `run`? "
        "Allowed: install, run, python, timeout, env, network, secrets."
    )


def test_unknown_key_without_close_match(tmp_path: Path) -> None:
    toml(tmp_path, '[tool.conveyor.checks.tests]\nrun = "pytest"\nbanana = 1\n')
    problem = error(tmp_path)
    assert problem.line == 3
    assert problem.message == (
        "unknown key `banana` in `tool.conveyor.checks.tests`. "
        "Allowed: install, run, python, timeout, env, network, secrets."
    )


def test_typo_of_checks_is_caught_before_anything_else(tmp_path: Path) -> None:
    toml(tmp_path, '[tool.conveyor]\npython = "3.12"\ncheck.tests.run = "x"\n')
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        3,
        "unknown key `check` in `tool.conveyor`. Did you mean `checks`? "
        "Allowed: python, timeout, checks.",
    )


def test_misspelled_install(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests:\n    instal: pip install .\n    run: pytest\n")
    problem = error(tmp_path)
    assert problem.line == 3
    assert "Did you mean `install`?" in problem.message


def test_checks_missing(tmp_path: Path) -> None:
    toml(tmp_path, '[project]\nname = "x"\n\n[tool.conveyor]\ntimeout = 5\n')
    problem = error(tmp_path)
    assert (problem.path, problem.line) == ("pyproject.toml", 4)
    assert problem.message == (
        "`tool.conveyor.checks` is missing: name at least one check, with its `run`."
    )


@pytest.mark.parametrize(
    ("text", "got"), [("checks: {}\n", "nothing"), ("checks: [tests]\n", "a list")]
)
def test_checks_must_be_a_non_empty_mapping(tmp_path: Path, text: str, got: str) -> None:
    yml(tmp_path, "python: '3.12'\n" + text)
    problem = error(tmp_path)
    assert (problem.path, problem.line) == (".conveyor.yml", 2)
    assert problem.message == (
        f"`checks` must be a mapping of checks (name → install, run...), not {got}."
    )


def test_check_must_be_a_table(tmp_path: Path) -> None:
    toml(tmp_path, '[tool.conveyor.checks]\ntests = "pytest"\n')
    problem = error(tmp_path)
    assert (problem.path, problem.line) == ("pyproject.toml", 2)
    assert problem.message == (
        "check `tests` must be a table with `run` (and `install`...), not a string ('pytest')."
    )


def test_run_missing(tmp_path: Path) -> None:
    toml(tmp_path, '[tool.conveyor.checks.lint]\ninstall = "pip install ruff"\n')
    problem = error(tmp_path)
    assert (problem.path, problem.line) == ("pyproject.toml", 1)
    assert problem.message == "check `lint` has no `run`: say which commands run the check."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[]", "`tool.conveyor.checks.tests.run` is empty: give at least one command to run."),
        ('""', "`tool.conveyor.checks.tests.run` item 1 is an empty command."),
        ('["pytest", "  "]', "`tool.conveyor.checks.tests.run` item 2 is an empty command."),
        (
            "5",
            "`tool.conveyor.checks.tests.run` must be a command (a string) or a list of "
            "commands, not a number (5).",
        ),
        (
            '["pytest", 3]',
            "`tool.conveyor.checks.tests.run` item 2 must be a command (a string), "
            "not a number (3).",
        ),
    ],
)
def test_bad_run(tmp_path: Path, value: str, message: str) -> None:
    toml(
        tmp_path, f'[tool.conveyor]\n\n[tool.conveyor.checks.tests]\ninstall = "x"\nrun = {value}\n'
    )
    problem = error(tmp_path)
    assert (problem.path, problem.line, problem.message) == ("pyproject.toml", 5, message)


def test_bad_install_item_in_yaml_points_at_the_item(tmp_path: Path) -> None:
    yml(
        tmp_path,
        "checks:\n  tests:\n    install:\n      - pip install .\n      - {a: b}\n    run: pytest\n",
    )
    problem = error(tmp_path)
    assert problem.line == 5
    assert problem.message == (
        "`checks.tests.install` item 2 must be a command (a string), not a table/mapping."
    )


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ('""', 1, "a check name is empty: name it, e.g. `tests` or `lint`."),
        ('"  "', 1, "a check name is empty: name it, e.g. `tests` or `lint`."),
        ('"a\\nb"', 1, "the check name 'a\\nb' spans lines; it must be on one line."),
        (
            '"' + "x" * 101 + '"',
            1,
            f"the check name `{'x' * 39}…` is 101 characters long; at most 100 are allowed.",
        ),
    ],
)
def test_bad_check_names(tmp_path: Path, name: str, line: int, message: str) -> None:
    toml(tmp_path, f'[tool.conveyor.checks.{name}]\nrun = "pytest"\n')
    problem = error(tmp_path)
    assert (problem.path, problem.line, problem.message) == ("pyproject.toml", line, message)


def test_a_100_character_name_is_fine(tmp_path: Path) -> None:
    yml(tmp_path, f"checks:\n  {'x' * 100}: {{run: pytest}}\n")
    plan = load_config(tmp_path)
    assert plan is not None
    assert plan.checks[0].name == "x" * 100


def test_check_name_must_be_text_in_yaml(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests: {run: pytest}\n  12: {run: pytest}\n")
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (3, "check names must be text, not a number (12).")


@pytest.mark.parametrize(
    ("value", "line", "message"),
    [
        (
            "3.10",
            3,
            "`checks.tests.python`: 3.1 is a number; write Python versions as quoted text, "
            'like "3.12" (a number turns 3.10 into 3.1).',
        ),
        (
            '["3.11", "py3.12"]',
            3,
            "`checks.tests.python`: 'py3.12' is not a Python version like \"3.12\" (major.minor).",
        ),
        (
            '"3"',
            3,
            "`checks.tests.python`: '3' is not a Python version like \"3.12\" (major.minor).",
        ),
        ("[]", 3, '`checks.tests.python` is an empty list: give versions like "3.12".'),
        ('["3.12", "3.12"]', 3, "`checks.tests.python` lists 3.12 twice."),
    ],
)
def test_bad_python_versions_in_yaml(tmp_path: Path, value: str, line: int, message: str) -> None:
    yml(tmp_path, f"checks:\n  tests:\n    python: {value}\n    run: pytest\n")
    problem = error(tmp_path)
    assert (problem.path, problem.line, problem.message) == (".conveyor.yml", line, message)


def test_bad_python_item_on_its_own_line(tmp_path: Path) -> None:
    yml(tmp_path, "python:\n  - '3.12'\n  - true\nchecks: {tests: {run: pytest}}\n")
    problem = error(tmp_path)
    assert problem.line == 3
    assert problem.message == (
        '`python`: a boolean (true) is not a Python version like "3.12" (major.minor).'
    )


def test_bad_top_level_python_in_toml(tmp_path: Path) -> None:
    toml(tmp_path, '[tool.conveyor]\npython = ["3.12", "latest"]\nchecks.tests.run = "x"\n')
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        2,
        "`tool.conveyor.python`: 'latest' is not a Python version like \"3.12\" (major.minor).",
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "0"),
        ("-5", "-5"),
        ('"10m"', "a string ('10m')"),
        ("true", "a boolean (true)"),
        ("nan", "nan"),
    ],
)
def test_bad_timeouts(tmp_path: Path, value: str, shown: str) -> None:
    toml(tmp_path, f'[tool.conveyor.checks.tests]\nrun = "pytest"\ntimeout = {value}\n')
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        3,
        f"`tool.conveyor.checks.tests.timeout` must be a positive number of seconds, not {shown}.",
    )


def test_bad_top_level_timeout_in_yaml(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests: {run: pytest}\ntimeout: -1\n")
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        3,
        "`timeout` must be a positive number of seconds, not -1.",
    )


def test_env_values_must_be_strings(tmp_path: Path) -> None:
    toml(
        tmp_path,
        '[tool.conveyor.checks.tests]\nrun = "pytest"\nenv = { A = "1", DEBUG = true }\n',
    )
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        3,
        "`tool.conveyor.checks.tests.env.DEBUG` must be a string, not a boolean (true): "
        'quote it, e.g. "true".',
    )


def test_env_value_in_its_own_table(tmp_path: Path) -> None:
    toml(
        tmp_path,
        '[tool.conveyor.checks.tests]\nrun = "pytest"\n\n[tool.conveyor.checks.tests.env]\n'
        'A = "1"\nWORKERS = 4\n',
    )
    problem = error(tmp_path)
    assert problem.line == 6
    assert problem.message.startswith("`tool.conveyor.checks.tests.env.WORKERS` must be a string")


def test_env_names_and_shape_in_yaml(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests:\n    run: pytest\n    env:\n      1ST: x\n")
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        5,
        "`checks.tests.env`: '1ST' is not a variable name (letters, digits and _, "
        "not starting with a digit).",
    )
    yml(tmp_path, "checks:\n  tests:\n    run: pytest\n    env: [A=1]\n")
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        4,
        "`checks.tests.env` must be a mapping of variable names to values, not a list.",
    )


def test_network_must_be_a_boolean(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests:\n    run: pytest\n    network: sometimes\n")
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        4,
        "`checks.tests.network` must be true or false, not a string ('sometimes').",
    )


def test_secrets_must_be_variable_names(tmp_path: Path) -> None:
    toml(
        tmp_path, '[tool.conveyor.checks.tests]\nrun = "pytest"\nsecrets = ["TOKEN", "my token"]\n'
    )
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        3,
        "`tool.conveyor.checks.tests.secrets`: 'my token' is not a variable name "
        "(letters, digits and _).",
    )


def test_duplicate_check_names_after_expansion(tmp_path: Path) -> None:
    yml(
        tmp_path,
        "checks:\n  tests:\n    python: ['3.11', '3.12']\n    run: pytest\n"
        "  tests (3.12):\n    run: pytest\n",
    )
    problem = error(tmp_path)
    assert problem.path == ".conveyor.yml"
    assert problem.message == "two checks would both be named `tests (3.12)`; rename one of them."


# ---- files that lead outside the repository (issue 9): refused unread, from any repository

CANARY = "SECRET-CANARY-1234: x\n"


def repo_beside_a_host_file(tmp_path: Path) -> tuple[Path, Path]:
    """A repository, and a host file (a stand-in for /etc/shadow or SECRETS_FILE) beside it,
    whose content would be an unknown key if the service ever parsed it."""
    host = tmp_path / "host" / "secrets.json"
    host.parent.mkdir()
    host.write_text(CANARY)
    repo = tmp_path / "repo"
    repo.mkdir()
    return repo, host


@pytest.mark.parametrize("name", [".conveyor.yml", "pyproject.toml"])
@pytest.mark.parametrize("relative_link", [False, True])
def test_a_configuration_linked_outside_is_refused_unread(
    tmp_path: Path, name: str, relative_link: bool
) -> None:
    repo, host = repo_beside_a_host_file(tmp_path)
    (repo / name).symlink_to("../host/secrets.json" if relative_link else host)
    problem = error(repo)
    assert (problem.path, problem.line) == (name, None)
    assert str(problem) == (
        f"{name}: is a symbolic link to a place outside the repository (or through one); "
        "Conveyor reads only the repository's own files. Commit the file itself, or a link "
        "that stays inside the repository."
    )
    assert "SECRET" not in str(problem)
    assert "CANARY" not in str(problem)
    assert host.read_text() == CANARY


def test_a_configuration_linked_to_a_host_file_says_nothing_of_it(tmp_path: Path) -> None:
    (tmp_path / ".conveyor.yml").symlink_to("/etc/passwd")
    problem = error(tmp_path)
    assert problem.path == ".conveyor.yml"
    assert "root" not in str(problem)
    assert "passwd" not in str(problem)


def test_a_configuration_in_a_folder_linked_outside_is_refused(tmp_path: Path) -> None:
    # `.conveyor.yml -> conf/conveyor.yml` looks inside, but `conf` leads out.
    repo, host = repo_beside_a_host_file(tmp_path)
    (host.parent / "conveyor.yml").write_text(CANARY)
    (repo / "conf").symlink_to(host.parent, target_is_directory=True)
    (repo / ".conveyor.yml").symlink_to("conf/conveyor.yml")
    problem = error(repo)
    assert problem.path == ".conveyor.yml"
    assert "outside the repository" in problem.message
    assert "CANARY" not in str(problem)


def test_a_configuration_linked_inside_the_repository_is_read(tmp_path: Path) -> None:
    # A monorepo shares one configuration between its projects.
    write(tmp_path, {"config/conveyor.yml": "checks:\n  unit:\n    run: pytest -x\n"})
    (tmp_path / ".conveyor.yml").symlink_to("config/conveyor.yml")
    plan = load_config(tmp_path)
    assert plan is not None
    assert plan.origin == ".conveyor.yml"
    assert [(c.name, c.test) for c in plan.checks] == [("unit", ("pytest -x",))]


def test_a_pyproject_linked_inside_the_repository_is_read(tmp_path: Path) -> None:
    write(tmp_path, {"packages/core/pyproject.toml": '[tool.conveyor.checks.t]\nrun = "x"\n'})
    (tmp_path / "pyproject.toml").symlink_to("packages/core/pyproject.toml")
    plan = load_config(tmp_path)
    assert plan is not None
    assert plan.origin == "pyproject.toml [tool.conveyor]"


def test_a_configuration_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".conveyor.yml")
    with within(5):
        problem = error(tmp_path)
    assert problem.path == ".conveyor.yml"
    assert "not a regular file" in problem.message


def test_a_huge_configuration_is_refused(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests:\n    run: pytest\n" + "#" * (4 * 1024 * 1024) + "\n")
    problem = error(tmp_path)
    assert str(problem) == (
        ".conveyor.yml: is larger than 4 MiB, more than Conveyor reads of such a file."
    )


def test_a_misnamed_configuration_linked_outside_is_not_read(tmp_path: Path) -> None:
    repo, host = repo_beside_a_host_file(tmp_path)
    (repo / ".conveyor.yaml").symlink_to(host)
    assert load_config(repo) is None


def test_install_files_linked_outside_are_not_dependency_files(tmp_path: Path) -> None:
    repo, host = repo_beside_a_host_file(tmp_path)
    write(
        repo,
        {
            ".conveyor.yml": "checks:\n  t:\n    install: pip install -r ci/r.txt -r x.txt\n"
            "    run: pytest\n",
        },
    )
    (repo / "ci").symlink_to(host.parent, target_is_directory=True)
    (host.parent / "r.txt").write_text("pytest\n")
    (repo / "x.txt").symlink_to(host)
    plan = load_config(repo)
    assert plan is not None
    assert plan.checks[0].dependency_files == (".conveyor.yml",)


# ---- messages quote a short excerpt of what they complain about


def test_a_long_unknown_key_is_quoted_short(tmp_path: Path) -> None:
    key = "SECRET-" + "k" * 10_000
    # An explicit key (`? key`): YAML allows implicit keys of at most 1024 characters.
    yml(tmp_path, f"checks:\n  tests:\n    run: pytest\n? {key}\n: x\n")
    problem = error(tmp_path)
    assert problem.line == 4
    assert problem.message.startswith("unknown key `SECRET-kkkkkkkk")
    assert "k" * 40 not in problem.message
    assert len(problem.message) < 200


def test_a_long_unknown_key_in_toml_is_quoted_short(tmp_path: Path) -> None:
    toml(tmp_path, f'[tool.conveyor]\n"{"k" * 10_000}" = 1\n[tool.conveyor.checks.t]\nrun = "x"\n')
    problem = error(tmp_path)
    assert problem.line == 2
    assert len(problem.message) < 200


@pytest.mark.parametrize(
    "text",
    [
        'checks: {tests: {run: pytest, env: {A: 1}}}\npython: "SECRET-{long}"\n',
        "checks: {tests: {run: pytest, env: {A: [SECRET-{long}]}}}\n",
        "checks: {tests: {run: pytest, env: {SECRET-{long}: 2}}}\n",
        "checks: {tests: {run: pytest, env: {S{long}: 2}}}\n",
        "checks: {tests: {run: [SECRET-{long}, 1]}}\n",
        "checks: {tests: {run: pytest, secrets: [SECRET-{long}]}}\n",
        "checks: {tests: {run: pytest, timeout: SECRET-{long}}}\n",
        "checks: {tests: {run: pytest, network: SECRET-{long}}}\n",
        "checks: {tests: {run: pytest}}\nSECRET-{long}: 1\nSECRET-{long}: 2\n",
        "checks: {tests: {run: pytest, python: 3{digits}}}\n",
        "checks:\n  tests:\n    run: *SECRET-{long}\n",
        'checks:\n  tests:\n    run: "\\{long}"\n',
    ],
)
def test_no_message_quotes_more_than_an_excerpt(tmp_path: Path, text: str) -> None:
    # 1000 characters: YAML's limit for a plain key is 1024.
    yml(tmp_path, text.replace("{long}", "s" * 1000).replace("{digits}", "1" * 4000))
    problem = error(tmp_path)
    assert "s" * 40 not in problem.message
    assert "1" * 60 not in problem.message
    assert len(problem.message) < 300, problem.message


def test_a_toml_error_keeps_its_line_and_quotes_little(tmp_path: Path) -> None:
    key = "SECRET-" + "k" * 10_000
    toml(tmp_path, f"[tool.conveyor.{key}]\n[tool.conveyor.{key}]\n")
    problem = error(tmp_path)
    assert problem.line == 2
    assert problem.message.startswith("not valid TOML: Cannot declare ('tool', 'conveyor', 'SEC")
    assert "k" * 40 not in problem.message
    assert problem.message.endswith("…') twice (at line 2, column 10023)")


@pytest.mark.parametrize(("file", "kind"), [("pyproject.toml", "TOML"), (".conveyor.yml", "YAML")])
def test_a_number_too_long_for_python_is_a_config_error(
    tmp_path: Path, file: str, kind: str
) -> None:
    separator = " = " if kind == "TOML" else ": "
    write(tmp_path, {file: "timeout" + separator + "9" * 5000 + "\n"})
    problem = error(tmp_path)
    assert (problem.path, problem.message) == (file, f"not valid {kind}: a number is too long.")


@pytest.mark.parametrize(("file", "kind"), [("pyproject.toml", "TOML"), (".conveyor.yml", "YAML")])
def test_nesting_too_deep_for_python_is_a_config_error(
    tmp_path: Path, file: str, kind: str
) -> None:
    separator = " = " if kind == "TOML" else ": "
    write(tmp_path, {file: "timeout" + separator + "[" * 100_000 + "]" * 100_000 + "\n"})
    problem = error(tmp_path)
    assert problem.path == file
    assert "nested too deeply" in problem.message


# Issue 10: what made planning fail as "an error inside Conveyor" (RecursionError, OverflowError,
# ValueError) is refused by the reader, with the file and the line.


def test_a_timeout_beyond_any_use_is_refused(tmp_path: Path) -> None:
    yml(tmp_path, "checks:\n  tests:\n    run: x\n    timeout: 1.0e+300\n")
    problem = error(tmp_path)
    assert (problem.line, problem.message) == (
        4,
        "`checks.tests.timeout` is too large: at most 1000000000 seconds.",
    )
