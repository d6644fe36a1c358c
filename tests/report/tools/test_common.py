"""app/report/tools/common.py: what every tool's reader shares: clean lines, paths made
relative to the repository, annotations fitted to GitHub's rules and capped."""

from __future__ import annotations

import pytest

from app.report.model import Annotation
from app.report.tools.common import (
    MAX_ANNOTATIONS,
    MAX_BLOB_BYTES,
    MAX_TITLE_CHARS,
    SANDBOX_ROOT,
    TRUNCATED,
    at,
    clean,
    cut_bytes,
    finish,
    fit,
    is_installed,
    plural,
    relative,
)

ROOT = SANDBOX_ROOT


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("pkg/lint.py", "pkg/lint.py"),
        ("./pkg/lint.py", "pkg/lint.py"),
        ("/conveyor/src/pkg/lint.py", "pkg/lint.py"),
        ("/conveyor/src/./pkg/../pkg/lint.py", "pkg/lint.py"),
        ("/conveyor/env/lib/python3.11/site-packages/x.py", None),
        ("/usr/lib/python3.11/json/__init__.py", None),
        ("../elsewhere.py", None),
        ("<string>", None),
        ("", None),
    ],
)
def test_paths_are_made_relative_to_the_repository(path: str, expected: str | None) -> None:
    assert relative(path) == expected


def test_a_root_of_another_place_is_honoured() -> None:
    assert relative("/work/repo/a.py", "/work/repo/") == "a.py"
    assert relative("/work/repository/a.py", "/work/repo") is None  # a prefix, not the folder
    assert relative('"/work/repo/a b.py"', "/work/repo") == "a b.py"
    assert relative("/work/repo", "/work/repo") is None
    assert relative(".") is None


def test_clean_drops_colour_carriage_returns_and_trailing_spaces() -> None:
    output = (
        "\x1b[1;31mFailed\x1b[0m  \r\nprogress 10%\rprogress 100%\n\x1b(B\x1b[mdone\x1b]0;title\x07"
    )
    assert clean(output) == ["Failed", "progress 10%", "progress 100%", "done"]
    assert clean("") == [""]


@pytest.mark.parametrize(
    ("path", "installed"),
    [
        (".venv/lib/python3.11/site-packages/x.py", True),
        ("/usr/lib/python3/dist-packages/yaml/__init__.py", True),
        ("/usr/lib/python3.12/json/decoder.py", True),
        ("src/site_packages_tool/x.py", False),
        ("lib/pythonic/x.py", False),
        ("pkg/lint.py", False),
    ],
)
def test_installed_code_is_told_from_the_project_s(path: str, installed: bool) -> None:
    assert is_installed(path) is installed


def test_cut_bytes_keeps_the_head_within_the_limit_and_says_so() -> None:
    assert cut_bytes("short") == "short"
    long = "é" * MAX_BLOB_BYTES  # two bytes each: twice the limit
    cut = cut_bytes(long)
    assert cut.endswith(TRUNCATED)
    assert len(cut.encode()) <= MAX_BLOB_BYTES
    assert cut.startswith("éé")
    assert len(cut_bytes("x" * 100, 20).encode()) <= 20


def test_plural() -> None:
    assert [plural(n, "problem") for n in (0, 1, 2)] == ["0 problems", "1 problem", "2 problems"]


def test_at_is_an_annotation_on_one_line_unless_told() -> None:
    assert at("a.py", 3, "failure", "m", "t", column=2, details="d") == Annotation(
        "a.py", 3, 3, "failure", "m", "t", "d", 2, None
    )
    assert at("a.py", 3, "warning", "m", None, end_line=5, end_column=1).end_line == 5


def test_fit_makes_an_annotation_one_github_takes() -> None:
    fitted = fit(
        at(
            f"{ROOT}/pkg/a.py",
            0,
            "failure",
            "  \n",
            "T" * (MAX_TITLE_CHARS + 10),
            column=0,
            end_column=4,
            details="   ",
        ),
        ROOT,
    )
    assert fitted is not None
    assert (fitted.path, fitted.start_line, fitted.end_line) == ("pkg/a.py", 1, 1)
    assert fitted.message == "(no message)"
    assert fitted.title == "T" * MAX_TITLE_CHARS
    assert fitted.raw_details is None
    # A column below 1 is dropped with its end.
    assert (fitted.start_column, fitted.end_column) == (None, None)


def test_fit_keeps_columns_on_one_line_only_and_in_order() -> None:
    one_line = fit(at("a.py", 4, "warning", "m", None, column=9, end_column=3), ROOT)
    assert one_line is not None
    assert (one_line.start_column, one_line.end_column) == (9, 9)
    several = fit(at("a.py", 4, "warning", "m", None, column=2, end_line=6, end_column=3), ROOT)
    assert several is not None
    assert (several.start_line, several.end_line) == (4, 6)
    assert (several.start_column, several.end_column) == (None, None)
    backwards = fit(at("a.py", 6, "warning", "m", None, end_line=2), ROOT)
    assert backwards is not None
    assert (backwards.start_line, backwards.end_line) == (6, 6)


def test_fit_cuts_what_is_too_long_and_refuses_what_is_outside() -> None:
    fitted = fit(
        at(
            "a.py",
            1,
            "failure",
            "m" * (MAX_BLOB_BYTES + 1),
            None,
            details="d" * (MAX_BLOB_BYTES + 1),
        ),
        ROOT,
    )
    assert fitted is not None
    assert fitted.message.endswith(TRUNCATED)
    assert fitted.raw_details is not None
    assert fitted.raw_details.endswith(TRUNCATED)
    assert len(fitted.message.encode()) <= MAX_BLOB_BYTES
    assert fit(at("/etc/passwd", 1, "failure", "m", None), ROOT) is None


def test_finish_fits_caps_and_says_what_was_left_out() -> None:
    seen: list[tuple[int, int]] = []

    def summary(kept: object, more: int) -> str:
        assert isinstance(kept, list)
        seen.append((len(kept), more))
        return f"tool: {len(kept) + more} problems in {ROOT}/pkg"

    found = [
        at(f"{ROOT}/pkg/a.py", n, "failure", f"m{n}", None) for n in range(1, MAX_ANNOTATIONS + 4)
    ]
    found.insert(0, at("/usr/lib/python3.11/x.py", 1, "failure", "outside", None))
    report = finish("tool", found, ROOT, summary)
    assert report.tool == "tool"
    assert len(report.annotations) == MAX_ANNOTATIONS
    assert report.annotations[0].message == "m1"
    assert report.annotations[0].path == "pkg/a.py"
    assert seen == [(MAX_ANNOTATIONS, 4)]
    assert report.summary == (
        f"tool: {MAX_ANNOTATIONS + 4} problems in pkg; 1 outside the repository not annotated; "
        f"3 more not annotated (at most {MAX_ANNOTATIONS})"
    )
    assert report.results is None


def test_finish_with_nothing_left_out_says_nothing_more() -> None:
    report = finish("tool", [at("a.py", 1, "notice", "m", None)], ROOT, lambda kept, more: "ok")
    assert report.summary == "ok"
    assert len(report.annotations) == 1
