"""The project's own files, read as a person would read them: without running any of them.

Every rule reads the same pyproject.toml, setup.cfg and setup.py (as syntax, never executed) and
the same list of test files, so they are read here once, the same way for all.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from app.suite.plan import ConfigError
from app.suite.repository_files import (
    CONFIG_LIMIT,
    TEST_FILE_LIMIT,
    UnreadableFile,
    is_file,
    parser_message,
    read_text,
)

if TYPE_CHECKING:  # pytest_config reads its files with this module's readers
    from app.suite.pytest_config import PytestConfig

# Files that declare dependencies or install steps: a cached environment is reused only while
# they are unchanged. Requirements files found elsewhere are added by the rules that use them.
CONVENTIONAL_DEPENDENCY_FILES = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "tox.ini",
    "tox.toml",
    "noxfile.py",
    "hatch.toml",
    "poetry.lock",
    "uv.lock",
    "pdm.lock",
    "Pipfile",
    "Pipfile.lock",
)
# Folders never searched for tests: other environments, build output, vendored code, and the
# inputs of tests (a linter's `resources/test/fixtures/test_x.py` is data, not a test).
_SKIPPED_DIRS = frozenset(
    {
        "node_modules",
        "venv",
        "env",
        "build",
        "dist",
        "site-packages",
        "__pycache__",
        "htmlcov",
        "_vendor",
        "vendor",
        "third_party",
        "fixtures",
        "resources",
        "testdata",
        "test_data",
    }
)
# pytest's defaults (_pytest/python.py and _pytest/main.py), when its configuration says nothing.
DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
DEFAULT_NORECURSEDIRS = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv")
_MAX_SCANNED_ENTRIES = 20_000  # a monorepo scan must stay fast; tests are near the top anyway
_MAX_READ_TEST_FILES = 60
_PYTEST_STYLE = re.compile(
    r"^\s*(import pytest|from pytest\b|@pytest\.)|^(async )?def test_", re.MULTILINE
)
_UNITTEST_STYLE = re.compile(r"\bunittest\b|\bTestCase\b")

# --------------------------------------------------------------------------------------------
# Reading the project


def read_toml(root: Path, name: str) -> dict[str, Any]:
    """The parsed file, {} when it does not exist; invalid TOML is a ConfigError with its line.

    Like every configuration file, one that leads outside the repository, is not a regular file
    or is larger than CONFIG_LIMIT is a ConfigError too (repository_files.UnreadableFile).
    """
    text = read_text(root, name, limit=CONFIG_LIMIT)
    return {} if text is None else parse_toml(name, text)


def parse_toml(name: str, text: str) -> dict[str, Any]:
    """The parsed text of the file `name`; what is not TOML is a ConfigError with its line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The parser's message can quote the file: quote only a piece of it.
        message = f"not valid TOML: {parser_message(str(exc))}"
        raise ConfigError(name, toml_error_line(exc), message) from None
    except ValueError:
        # int() refuses a number of more than 4300 digits: not a TOMLDecodeError.
        raise ConfigError(name, None, "not valid TOML: a number is too long.") from None
    except RecursionError:
        raise ConfigError(name, None, "not valid TOML: arrays are nested too deeply.") from None


def toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    # Python 3.11's tomllib gives the position only inside the message.
    found = re.search(r"at line (\d+)", str(exc))
    return int(found.group(1)) if found else None


def table(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """data[k1][k2]..., or {} when a step is missing or not a table."""
    current: Any = data
    for key in keys:
        current = current.get(key) if isinstance(current, Mapping) else None
    return dict(current) if isinstance(current, Mapping) else {}


@dataclass(frozen=True)
class Project:
    root: Path
    pyproject: dict[str, Any]
    setup_cfg: configparser.ConfigParser
    setup_py: ast.Module | None

    @property
    def is_package(self) -> bool:
        """Can pip build and install it? (`pip install -e .` would otherwise fail.)"""
        if table(self.pyproject, "tool", "poetry").get("package-mode") is False:
            return False
        if "build-system" in self.pyproject:
            return True
        if is_file(self.root, "setup.py"):
            return True
        # uv installs a [project] without [build-system] only when told to.
        return "project" in self.pyproject and bool(
            table(self.pyproject, "tool", "uv").get("package")
        )

    def has(self, relative: str) -> bool:
        """A regular file of the repository; one that leads outside counts as absent."""
        return is_file(self.root, relative)


def read_project(root: Path) -> Project:
    return Project(
        root=root,
        pyproject=read_toml(root, "pyproject.toml"),
        setup_cfg=read_ini(root, "setup.cfg") or empty_ini(),
        setup_py=parse_python(root, "setup.py"),
    )


def empty_ini() -> configparser.ConfigParser:
    # No interpolation: tox and setuptools values contain `{...}` and `%` of their own.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


def read_ini(root: Path, name: str) -> configparser.ConfigParser | None:
    """The parsed file, None when it does not exist; one configparser cannot read is empty."""
    text = read_text(root, name, limit=CONFIG_LIMIT)
    if text is None:
        return None
    parser = empty_ini()
    try:
        parser.read_string(text, name)
    except configparser.Error:
        return configparser.ConfigParser(interpolation=None)
    return parser


def parse_python(root: Path, name: str) -> ast.Module | None:
    """The file as syntax (never run), None when it does not exist or does not parse."""
    text = read_text(root, name, limit=CONFIG_LIMIT)
    if text is None:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # CPython's parser says MemoryError (and the AST builder RecursionError) for code nested
        # too deeply, e.g. a million unary minuses: a file we cannot read, not a lack of memory.
        return None


def setup_call_kwargs(module: ast.Module | None) -> dict[str, ast.expr]:
    """Keyword arguments of the `setup(...)` call in setup.py (as syntax, never executed)."""
    if module is None:
        return {}
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and call_name(node.func) in ("setup", "setuptools.setup"):
            return {kw.arg: kw.value for kw in node.keywords if kw.arg}
    return {}


def call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return f"{call_name(func.value)}.{func.attr}"
    return ""


def literal_strings(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return None


def ini_list(value: str) -> list[str]:
    return [item.strip() for item in re.split(r"[\n,]", value) if item.strip()]


def existing_dependency_files(root: Path) -> tuple[str, ...]:
    """The conventional dependency files present in the root (for the environment cache key)."""
    return tuple(name for name in CONVENTIONAL_DEPENDENCY_FILES if is_file(root, name))


# --------------------------------------------------------------------------------------------
# Tests in the tree


@dataclass(frozen=True)
class TestFiles:
    paths: tuple[str, ...]  # relative, posix
    has_conftest: bool
    pytest_style: bool  # some file imports pytest or has module-level test functions
    unittest_style: bool

    @property
    def found(self) -> bool:
        return bool(self.paths)

    def all_under(self, folder: str) -> bool:
        return all(path.startswith(folder + "/") for path in self.paths)


def find_tests(root: Path, config: PytestConfig | None = None) -> TestFiles:
    """The test files pytest would collect from the root: named by `python_files`, under
    `testpaths` when the configuration gives them, not in `norecursedirs` (nor in the folders
    Conveyor never searches). Without a configuration, pytest's defaults."""
    python_files = config.python_files if config else DEFAULT_PYTHON_FILES
    testpaths = config.testpaths if config else ()
    norecurse = config.norecursedirs if config else DEFAULT_NORECURSEDIRS
    paths: list[str] = []
    conftest = False
    for relative in _walk(root, norecurse):
        name = relative.rsplit("/", 1)[-1]
        if name == "conftest.py":
            conftest = True
        elif (
            name.endswith(".py")
            and _matches(relative, python_files)
            and (not testpaths or _under_any(relative, testpaths))
        ):
            paths.append(relative)
    paths.sort()
    texts = [text for path in paths[:_MAX_READ_TEST_FILES] if (text := _test_text(root, path))]
    return TestFiles(
        paths=tuple(paths),
        has_conftest=conftest,
        pytest_style=any(_PYTEST_STYLE.search(text) for text in texts),
        unittest_style=any(_UNITTEST_STYLE.search(text) for text in texts),
    )


def _matches(relative: str, patterns: tuple[str, ...]) -> bool:
    # As pytest's fnmatch_ex: a pattern without a slash is matched against the file's name.
    name = relative.rsplit("/", 1)[-1]
    return any(
        fnmatch(name, pattern) if "/" not in pattern else fnmatch(relative, f"*{pattern}")
        for pattern in patterns
    )


def _under_any(relative: str, testpaths: tuple[str, ...]) -> bool:
    """Is the file one of the testpaths (globs relative to the root) or inside one?"""
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for testpath in testpaths:
        pattern = testpath.strip().removeprefix("./").rstrip("/")
        if pattern in ("", "."):
            return True
        if any(fnmatch(prefix, pattern) for prefix in prefixes):
            return True
    return False


def _test_text(root: Path, relative: str) -> str | None:
    """A test file's text, to tell its style; None for one Conveyor does not read (a link that
    leads outside, a FIFO, a huge generated file): the style is a guess, not worth failing over.
    """
    try:
        return read_text(root, relative, limit=TEST_FILE_LIMIT)
    except UnreadableFile:
        return None


def _walk(root: Path, norecurse: tuple[str, ...]) -> Iterator[str]:
    # os.walk does not enter linked folders (followlinks=False): the names it yields are all
    # inside the root, though a file among them may be a link; _test_text is what reads them.
    seen = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIPPED_DIRS
            and not d.endswith(".egg-info")
            and not any(fnmatch(d, pattern) for pattern in norecurse)
        )
        base = Path(folder).relative_to(root).as_posix()
        for name in files:
            seen += 1
            if seen > _MAX_SCANNED_ENTRIES:
                return
            yield name if base == "." else f"{base}/{name}"
