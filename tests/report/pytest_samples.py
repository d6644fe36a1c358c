"""Sample projects, and running the real pytest on them with Conveyor's plugin, as the runner
does: the plugin's folder on PYTHONPATH, `-p conveyor_pytest`, CONVEYOR_REPORT naming a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import app

PLUGIN_DIR = Path(app.__file__).parent / "suite" / "in_sandbox"


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


CORE = dedent(
    '''
    import json


    def deep(n):
        if n == 0:
            raise ValueError("too deep")
        return deep(n - 1)


    def parse(text):
        return json.loads(text)


    def add(a, b):
        """Adds.

        >>> add(1, 2)
        3
        >>> add(2, 2)
        5
        """
        return a + b


    def divide(a, b):
        """
        >>> divide(1, 0)
        0
        """
        return a / b
    '''
)

HELPERS = dedent(
    """
    def check_equal(a, b):
        assert a == b
    """
)

CONFTEST = dedent(
    """
    import pytest


    @pytest.fixture
    def shared_broken():
        raise KeyError("missing setting")
    """
)

PLACES = dedent(
    """
    import pytest
    from helpers import check_equal
    from mypkg.core import deep, parse


    def test_passes():
        assert True


    def test_bare_assert():
        total = 1 + 1
        assert total == 3


    def test_helper_assert():
        check_equal(1, 2)


    def test_deep_exception():
        deep(3)


    def test_stdlib_exception():
        parse("not json")


    @pytest.fixture
    def broken():
        raise OSError("no disk")


    def test_fixture_error(broken):
        pass


    def test_conftest_fixture_error(shared_broken):
        pass


    @pytest.fixture
    def dirty():
        yield 1
        raise RuntimeError("cannot clean up")


    def test_teardown_error(dirty):
        pass


    @pytest.mark.parametrize(
        "value", [1, 2, 3], ids=["a-1", "with space [and brackets]", "x::y"]
    )
    def test_param(value):
        assert value == 1


    class TestGroup:
        def test_method(self):
            assert "a" == "b"


    @pytest.mark.skip(reason="not today")
    def test_skipped():
        pass


    @pytest.mark.xfail(reason="known bug")
    def test_xfail():
        assert False


    @pytest.mark.xfail(reason="maybe fixed")
    def test_xpass():
        pass
    """
)

UNIT = dedent(
    """
    import unittest


    class TestLegacy(unittest.TestCase):
        def test_equal(self):
            self.assertEqual(1, 2)

        def test_exception(self):
            {}["k"]
    """
)

BAD_IMPORT = dedent(
    """
    import os
    import no_such_module_anywhere


    def test_never():
        pass
    """
)

BAD_SYNTAX = dedent(
    """
    def test_never():
        pass


    def broken(:
        pass
    """
)

BASE = dedent(
    """
    class Checks:
        def test_inherited(self):
            assert self.value == 2
    """
)

EXTRAS = dedent(
    """
    import pytest
    from base import Checks


    def inner(value):
        assert value == 2


    def test_group():
        errors = []
        for value in (0, 1):
            try:
                inner(value)
            except AssertionError as error:
                errors.append(error)
        raise ExceptionGroup("several", errors)


    def expect_positive(value):
        __tracebackhide__ = True
        if value <= 0:
            pytest.fail(f"{value} is not positive")


    def test_hidden_helper():
        expect_positive(-1)


    def test_raises_mismatch():
        with pytest.raises(ValueError):
            pass


    class TestImpl(Checks):
        value = 1
    """
)

SUBTESTS = dedent(
    """
    def test_cases(subtests):
        for i in range(3):
            with subtests.test(msg="case", i=i):
                assert i != 1
    """
)

PROJECT = {
    "pytest.ini": "[pytest]\n",
    "mypkg/__init__.py": "",
    "mypkg/core.py": CORE,
    "tests/conftest.py": CONFTEST,
    "tests/helpers.py": HELPERS,
    "tests/test_places.py": PLACES,
    "tests/test_unit.py": UNIT,
    "tests/test_bad_import.py": BAD_IMPORT,
    "tests/test_syntax.py": BAD_SYNTAX,
}


@dataclass(frozen=True)
class Run:
    returncode: int
    report: Path
    output: str


def write_project(project: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def run_pytest(
    project: Path,
    args: list[str],
    *,
    report: bool = True,
    plugin: bool = True,
    extra_env: dict[str, str] | None = None,
    python: str = sys.executable,
) -> Run:
    """The real pytest in a subprocess, with only pytest's own plugins besides ours."""
    out = project.parent / f"{project.name}-report.jsonl"
    # A temporary folder of its own: pytest's tmp_path root in the shared /tmp is cleaned by every
    # session that starts, and many of these run at once beside the test session's own.
    temporary = project.parent / f"{project.name}-tmp"
    temporary.mkdir(exist_ok=True)
    env = {
        "TMPDIR": str(temporary),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(project),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": str(PLUGIN_DIR),
    }
    if report:
        env["CONVEYOR_REPORT"] = str(out)
    env.update(extra_env or {})
    command = [python, "-m", "pytest", "-p", "no:cacheprovider", "--color=no", *args]
    if plugin:
        command[3:3] = ["-p", "conveyor_pytest"]
    finished = subprocess.run(
        command,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(finished.returncode, out, finished.stdout + finished.stderr)


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line of `text` that holds `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


# -- reading what the plugin wrote ---------------------------------------------------------------

Record = dict[str, Any]
PLACES_FILE = "tests/test_places.py"


def records(run: Run) -> list[Record]:
    return [json.loads(line) for line in run.report.read_text().splitlines()]


def by_id(run: Run, kind: str = "test") -> dict[str, Record]:
    found: dict[str, Record] = {}
    for record in records(run):
        if record["type"] == kind:
            key = record["nodeid"] + ("@teardown" if record.get("when") == "teardown" else "")
            assert key not in found, key
            found[key] = record
    return found


def report_line(**fields: object) -> bytes:
    """One record as the plugin writes it."""
    return json.dumps(fields).encode() + b"\n"
