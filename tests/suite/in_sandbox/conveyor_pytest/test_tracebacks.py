"""app/suite/in_sandbox/conveyor_pytest/tracebacks.py: a real exception, raised by a project's
module, → its place (file, line, message, details, frames). (The same through pytest, with its
assertion rewriting, fixtures and doctests: tests/suite/in_sandbox/test_conveyor_pytest.py.)"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from app.suite.in_sandbox.conveyor_pytest.paths import Paths
from app.suite.in_sandbox.conveyor_pytest.tracebacks import (
    CAUSE,
    CONTEXT,
    DETAILS_CHARS,
    MAX_FRAMES,
    MESSAGE_CHARS,
    cap,
    chain,
    dedupe,
    exception_place,
    message_of,
    strip_prefix,
)
from tests.report.pytest_samples import dedent, line_of

HELPERS = dedent(
    """
    import json


    def deep():
        raise ValueError("deep problem")


    def middle():
        deep()  # middle


    def wrapped():
        try:
            deep()  # wrapped
        except ValueError as error:
            raise RuntimeError("while wrapping") from error


    def handled():
        try:
            deep()  # handled
        except ValueError:
            raise KeyError("during handling")


    def bare_assert():
        total = 2
        assert total == 3


    def assert_with_message():
        assert False, "not good"


    def blamed_helper():
        __tracebackhide__ = True
        raise ValueError("the caller's fault")


    def calls_blamed_helper():
        blamed_helper()  # blamed


    def collected():
        errors = []
        for fail in (middle, deep):
            try:
                fail()
            except ValueError as error:
                errors.append(error)
        raise ExceptionGroup("several", errors)


    def bad_json():
        return json.loads("{")


    def long_message():
        raise ValueError("x" * 10000)
    """
)
CALLER = dedent(
    """
    from helpers import bare_assert


    def test_calls_a_helper():
        bare_assert()  # the test's line
    """
)
BROKEN = "def f():\n    return (1,\n\n\nx = ]\n"


def load(path: Path) -> ModuleType:
    """The module as the project's: imported from its own file (no assertion rewriting)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (tmp_path / "pkg" / "test_caller.py").write_text(CALLER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    monkeypatch.delitem(sys.modules, "helpers", raising=False)
    return tmp_path


@pytest.fixture
def helpers(project: Path) -> ModuleType:
    return load(project / "pkg" / "helpers.py")


@pytest.fixture
def paths(project: Path) -> Paths:
    return Paths(str(project))


def raised(function: Callable[[], object]) -> Exception:
    """What calling it raises, with its traceback from here in."""
    try:
        function()
    except Exception as error:
        return error
    raise AssertionError(f"{function} did not raise")


def at(needle: str, file: str = "pkg/helpers.py", text: str = HELPERS) -> list[object]:
    return [file, line_of(text, needle)]


def place_of(place: dict[str, object]) -> list[object]:
    return [place["file"], place["line"]]


RAISE = 'raise ValueError("deep problem")'


def test_an_exception_is_placed_where_it_was_raised(helpers: ModuleType, paths: Paths) -> None:
    place = exception_place(raised(helpers.middle), None, paths)
    assert place_of(place) == at(RAISE)
    assert place["message"] == "ValueError: deep problem"
    # Only the project's frames: not this test's, which is outside the repository.
    assert place["frames"] == [at("# middle"), at(RAISE)]
    assert place["details"] == "\n".join(
        [
            f"pkg/helpers.py:{at('# middle')[1]}: in middle",
            "    deep()  # middle",
            f"pkg/helpers.py:{at(RAISE)[1]}: in deep",
            "    " + RAISE,
            "E   ValueError: deep problem",
        ]
    )


def test_from_the_standard_library_the_innermost_project_frame(
    helpers: ModuleType, paths: Paths
) -> None:
    place = exception_place(raised(helpers.bad_json), None, paths)
    assert place_of(place) == at("json.loads(")
    assert place["frames"] == [at("json.loads(")]
    assert str(place["message"]).startswith("json.decoder.JSONDecodeError: Expecting property name")


def test_a_chained_exception_is_placed_by_the_newest_with_the_sentence_between(
    helpers: ModuleType, paths: Paths
) -> None:
    error = raised(helpers.wrapped)
    assert [(type(e).__name__, header) for e, header in chain(error)] == [
        ("ValueError", ""),
        ("RuntimeError", CAUSE),
    ]
    place = exception_place(error, None, paths)
    assert place_of(place) == at('raise RuntimeError("while wrapping")')
    assert place["message"] == "RuntimeError: while wrapping"
    assert place["frames"] == [at("# wrapped"), at(RAISE), at('raise RuntimeError("while')]
    details = str(place["details"])
    assert details.index("E   ValueError: deep problem") < details.index(CAUSE)
    assert details.endswith("E   RuntimeError: while wrapping")
    handled = raised(helpers.handled)
    assert [header for _, header in chain(handled)] == ["", CONTEXT]


def test_an_exception_group_is_followed_by_its_first_exception(
    helpers: ModuleType, paths: Paths
) -> None:
    error = raised(helpers.collected)
    linked = chain(error)
    assert [type(e).__name__ for e, _ in linked] == ["ExceptionGroup", "ValueError"]
    assert linked[1][1] == "The first of the 2 exceptions in the group above:"
    place = exception_place(error, None, paths)
    assert place_of(place) == at(RAISE)
    assert place["message"] == "ValueError: deep problem"


def test_a_bare_assert_without_rewriting_says_its_statement(
    helpers: ModuleType, paths: Paths
) -> None:
    place = exception_place(raised(helpers.bare_assert), None, paths)
    assert place_of(place) == at("assert total == 3")
    assert place["message"] == "assert total == 3"
    assert message_of(raised(helpers.assert_with_message)) == "AssertionError: not good"
    assert message_of(AssertionError("assert 2 == 3")) == "assert 2 == 3"


def test_a_failed_assert_is_placed_on_the_tests_own_line(project: Path, paths: Paths) -> None:
    caller = load(project / "pkg" / "test_caller.py")
    error = raised(caller.test_calls_a_helper)
    test_file = str(project / "pkg" / "test_caller.py")
    place = exception_place(error, [test_file], paths)
    assert place_of(place) == at("# the test's line", "pkg/test_caller.py", CALLER)
    assert place["frames"] == [
        at("# the test's line", "pkg/test_caller.py", CALLER),
        at("assert total == 3"),
    ]
    # Outside a test's call (a fixture, say), where it was raised.
    assert place_of(exception_place(error, None, paths)) == at("assert total == 3")


def test_a_helper_hiding_its_frame_blames_its_caller(helpers: ModuleType, paths: Paths) -> None:
    place = exception_place(raised(helpers.calls_blamed_helper), None, paths)
    assert place_of(place) == at("# blamed")
    assert place["frames"] == [at("# blamed")]


def test_a_syntax_error_is_placed_on_the_bad_code(project: Path, paths: Paths) -> None:
    broken = project / "pkg" / "broken.py"
    broken.write_text(BROKEN, encoding="utf-8")
    error = raised(lambda: compile(broken.read_text(), str(broken), "exec"))
    assert isinstance(error, SyntaxError)
    place = exception_place(error, None, paths)
    assert place_of(place) == ["pkg/broken.py", error.lineno]
    assert place["message"] == f"SyntaxError: {error.msg}"
    assert f"pkg/broken.py:{error.lineno}" in str(place["details"])


def test_outside_the_project_there_is_no_place(helpers: ModuleType, tmp_path: Path) -> None:
    elsewhere = Paths(str(tmp_path / "other"))
    place = exception_place(raised(helpers.middle), None, elsewhere)
    assert (place["file"], place["line"], place["frames"]) == (None, None, [])
    assert place["message"] == "ValueError: deep problem"


def test_long_texts_are_cut(helpers: ModuleType, paths: Paths) -> None:
    place = exception_place(raised(helpers.long_message), None, paths)
    assert len(str(place["message"])) == MESSAGE_CHARS
    assert str(place["message"]).endswith("…")
    assert len(str(place["details"])) <= DETAILS_CHARS
    assert cap("abcdef", 4) == "abc…"
    assert cap("abcd", 4) == "abcd"


def test_frames_are_kept_once_at_their_innermost_position() -> None:
    frames = [("a.py", 1), ("b.py", 2), ("a.py", 1), ("c.py", 3)]
    assert dedupe(frames) == [["b.py", 2], ["a.py", 1], ["c.py", 3]]
    many = [("a.py", n) for n in range(MAX_FRAMES + 10)]
    assert dedupe(many) == [["a.py", n] for n in range(10, MAX_FRAMES + 10)]


def test_strip_prefix_only_at_the_start() -> None:
    assert strip_prefix("Skipped: why", "Skipped: ") == "why"
    assert strip_prefix("why Skipped: ", "Skipped: ") == "why Skipped: "
