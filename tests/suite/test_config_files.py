"""pyproject.toml's `[tool.conveyor]` and `.conveyor.yml` as documents: the line of each key,
YAML read within its bounds, and what no configuration may hold."""

from __future__ import annotations

import tomllib

import pytest

from app.suite.config_files import plain_values, read_yaml, toml_document, yaml_shape
from app.suite.plan import ConfigError
from tests.suite.test_repository_files import within


def yaml_problem(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        read_yaml(text)
    return caught.value


def toml_problem(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        plain_values(tomllib.loads(text)["tool"]["conveyor"], toml_document(text))
    return caught.value


# ---- names and lines


def test_names_are_written_as_people_write_them() -> None:
    toml = toml_document("")
    assert toml.name(()) == "tool.conveyor"
    assert (
        toml.name(("checks", "tests (3.12)", "run", 0))
        == 'tool.conveyor.checks."tests (3.12)".run[0]'
    )
    _, yaml = read_yaml("checks: {tests: {run: pytest}}\n")
    assert yaml.name(()) == "the top level"
    assert yaml.name(("checks", "tests", "env")) == "checks.tests.env"


def test_inline_tables_and_dotted_keys_find_their_lines() -> None:
    document = toml_document(
        '[tool.conveyor]\nchecks.tests.run = "pytest"\n'
        'checks.lint = { run = "ruff check .", network = 1 }\n'
    )
    assert document.locate(()) == 1
    assert document.locate(("checks", "tests", "run")) == 2
    assert document.locate(("checks", "lint", "network")) == 3


def test_multiline_strings_do_not_confuse_line_numbers() -> None:
    document = toml_document(
        '[project]\nname = "x"\ndescription = """\nrun = 5\n"""\n\n'
        "[tool.conveyor.checks.tests]\nrun = 5\n"
    )
    assert document.locate(("checks", "tests", "run")) == 8


def test_yaml_keys_and_items_have_their_lines() -> None:
    _, document = read_yaml("checks:\n  tests:\n    run:\n      - pytest\n      - -x\n")
    assert document.locate(("checks", "tests")) == 2
    assert document.locate(("checks", "tests", "run", 1)) == 5
    # A key that is not there is at the line of the nearest one that is.
    assert document.locate(("checks", "tests", "env")) == 2


# ---- YAML


def test_invalid_yaml() -> None:
    problem = yaml_problem("checks:\n  tests:\n    run: [pytest\n    install: x\n")
    assert problem.path == ".conveyor.yml"
    assert problem.line == 4
    assert problem.message.startswith("not valid YAML: expected ',' or ']'")


def test_yaml_tabs_are_invalid() -> None:
    problem = yaml_problem("checks:\n\ttests: {run: pytest}\n")
    assert (problem.path, problem.line) == (".conveyor.yml", 2)
    assert "not valid YAML" in problem.message


def test_empty_yaml() -> None:
    problem = yaml_problem("# nothing yet\n")
    assert (problem.path, problem.line) == (".conveyor.yml", None)
    assert problem.message == "is empty: it needs `checks`, each with its `run`."


def test_duplicate_yaml_keys() -> None:
    problem = yaml_problem("checks:\n  tests:\n    run: pytest\n    run: pytest -x\n")
    assert (problem.line, problem.message) == (4, "the key `run` appears twice.")


def test_a_yaml_error_keeps_its_line_and_quotes_little() -> None:
    problem = yaml_problem("checks:\n  tests:\n    run: pytest\n    env: *" + "q" * 10_000 + "\n")
    assert problem.line == 4
    assert problem.message == f"not valid YAML: found undefined alias '{'q' * 39}…'."


def test_aliases_of_aliases_are_not_expanded() -> None:
    # A few lines of YAML that name 9**12 strings: neither the duplicate-key check nor the
    # message that quotes the value may walk or print them all.
    levels = ["&l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 13):
        levels.append(f"&l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    with within(10):
        problem = yaml_problem(
            "checks:\n  tests:\n    run: pytest\n    env:\n      A: [" + ", ".join(levels) + "]\n"
        )
    assert problem.line == 5
    assert len(problem.message) < 300


def test_nesting_beyond_the_limit_is_refused_at_its_line() -> None:
    # 33 levels: far short of Python's recursion limit, far beyond any configuration.
    problem = yaml_problem(
        "checks:\n  tests:\n    run: x\n    env:\n      A: " + "[" * 33 + "]" * 33 + "\n"
    )
    assert (problem.line, problem.message) == (5, "is nested too deeply here: more than 32 levels.")


def test_more_than_a_hundred_aliases_are_refused_at_the_line_of_the_first_too_many() -> None:
    aliases = "".join("      - *cmd\n" for _ in range(101))
    problem = yaml_problem(
        "checks:\n  tests:\n    install: &cmd pip install .\n    run:\n" + aliases
    )
    assert problem.line == 4 + 101
    assert problem.message == (
        "has more than 100 aliases (`*name`); Conveyor reads at most 100. Is it a YAML alias bomb?"
    )


def test_a_hundred_aliases_are_read() -> None:
    aliases = "".join("      - *cmd\n" for _ in range(99))
    data, _ = read_yaml("checks:\n  tests:\n    install: &cmd pip install .\n    run:\n" + aliases)
    assert data["checks"]["tests"]["run"] == ["pip install ."] * 99


def test_an_alias_bomb_is_refused_before_anything_walks_it() -> None:
    # The bomb: 400 bytes, 8 levels of 9 aliases, 9**8 values once expanded.
    levels = ['&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        levels.append(f"&a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    problem = yaml_problem("checks:\n  tests:\n    run: [" + ", ".join(levels) + "]\n")
    assert problem.path == ".conveyor.yml"
    assert problem.line == 3
    assert problem.message == (
        "stands for more than 100000 values once its aliases are expanded; Conveyor reads at "
        "most that many. Is it a YAML alias bomb?"
    )


def test_the_shape_of_another_yaml_file_is_refused_under_its_name() -> None:
    with pytest.raises(ConfigError) as caught:
        yaml_shape("repos:\n  - " + "[" * 33 + "]" * 33 + "\n", ".pre-commit-config.yaml")
    assert (caught.value.path, caught.value.line) == (".pre-commit-config.yaml", 2)


# ---- no NUL character, no number beyond 64 bits (issue 10), in either format


@pytest.mark.parametrize(
    ("text", "line", "where"),
    [
        ('checks:\n  tests:\n    run: "pytest\\0 -x"\n', 3, "checks.tests.run"),
        ('checks:\n  tests:\n    run: [ok, "a\\0"]\n', 3, "checks.tests.run[1]"),
        ('checks:\n  tests:\n    run: pytest\n    env: {A: "x\\0y"}\n', 4, "checks.tests.env.A"),
        ('checks:\n  tests:\n    run: pytest\n    install: "pip\\0"\n', 4, "checks.tests.install"),
        (
            'checks:\n  tests:\n    run: pytest\n    secrets: ["T\\0"]\n',
            4,
            "checks.tests.secrets[0]",
        ),
        ('python: "3.12\\0"\nchecks:\n  tests:\n    run: pytest\n', 1, "python"),
    ],
)
def test_a_nul_character_in_yaml_is_refused_with_its_line(text: str, line: int, where: str) -> None:
    problem = yaml_problem(text)
    assert (problem.path, problem.line) == (".conveyor.yml", line)
    assert problem.message == (
        f"`{where}` holds a NUL character (\\0): no command, variable or name can hold one."
    )


def test_a_nul_character_in_a_name_is_refused_with_its_line() -> None:
    problem = yaml_problem('checks:\n  tests:\n    run: pytest\n  "li\\0nt":\n    run: ruff\n')
    assert (problem.line, problem.message) == (4, "`checks` has a key with a NUL character (\\0).")


@pytest.mark.parametrize(
    ("text", "line", "where"),
    [
        ('[tool.conveyor.checks.tests]\nrun = "pytest\\u0000"\n', 2, "checks.tests.run"),
        (
            '[tool.conveyor.checks.tests]\nrun = "x"\nenv = {A = "\\u0000"}\n',
            3,
            "checks.tests.env.A",
        ),
    ],
)
def test_a_nul_character_in_toml_is_refused_with_its_line(text: str, line: int, where: str) -> None:
    problem = toml_problem(text)
    assert (problem.path, problem.line) == ("pyproject.toml", line)
    assert problem.message.startswith(f"`tool.conveyor.{where}` holds a NUL character")


@pytest.mark.parametrize("kind", ["TOML", "YAML"])
@pytest.mark.parametrize("setting", ["timeout", "network", "python"])
def test_a_number_too_large_for_a_float_is_refused_with_its_line(kind: str, setting: str) -> None:
    # 400 digits: int() takes it, float() overflows (it was an OverflowError from `timeout`).
    number = "9" * 400
    if kind == "TOML":
        problem = toml_problem(f'[tool.conveyor.checks.tests]\nrun = "x"\n{setting} = {number}\n')
        file, line, where = "pyproject.toml", 3, f"tool.conveyor.checks.tests.{setting}"
    else:
        problem = yaml_problem(f"checks:\n  tests:\n    run: x\n    {setting}: {number}\n")
        file, line, where = ".conveyor.yml", 4, f"checks.tests.{setting}"
    assert (problem.path, problem.line) == (file, line)
    assert problem.message == (
        f"`{where}` is a number of 400 digits; Conveyor reads numbers up to {2**63 - 1}."
    )
