"""app/report/model.py: a check run's values, and their trip through JSON (how a verdict is
stored until GitHub takes it)."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from app.report.model import (
    ICONS,
    RERUN_ALL,
    RERUN_FAILED,
    Action,
    Annotation,
    CheckOutput,
    Conclusion,
)


def test_a_check_output_comes_back_whole_from_json() -> None:
    output = CheckOutput(
        conclusion="failure",
        title="1 test failed",
        summary="✖ **1 test failed**",
        text="details ✓",
        annotations=(
            Annotation("tests/test_a.py", 3, 3, "failure", "assert 1 == 2", "test_a", "tb", 5, 9),
            Annotation("a.py", 1, 2, "warning", "m"),
        ),
        actions=(RERUN_FAILED, RERUN_ALL),
    )
    again = CheckOutput.from_json(json.loads(json.dumps(output.to_json())))
    assert again == output
    assert isinstance(again.annotations, tuple)
    assert isinstance(again.actions, tuple)


def test_what_older_records_lack_takes_its_default() -> None:
    output = CheckOutput.from_json({"conclusion": "success", "title": "ok", "summary": "s"})
    assert output == CheckOutput("success", "ok", "s")
    assert (output.text, output.annotations, output.actions) == ("", (), ())


def test_a_record_missing_what_it_must_have_is_refused() -> None:
    with pytest.raises(KeyError):
        CheckOutput.from_json({"conclusion": "success", "title": "ok"})
    with pytest.raises(TypeError):
        CheckOutput.from_json(
            {"conclusion": "failure", "title": "t", "summary": "s", "annotations": [{"path": "a"}]}
        )


def test_the_buttons_fit_github_s_limits() -> None:
    # label at most 20 characters, description at most 40, identifier at most 20.
    for action in (RERUN_FAILED, RERUN_ALL):
        assert len(action.label) <= 20
        assert len(action.description) <= 40
        assert len(action.identifier) <= 20
    assert RERUN_FAILED.identifier != RERUN_ALL.identifier
    assert Action("a", "b", "c") == Action("a", "b", "c")


def test_every_conclusion_has_an_icon() -> None:
    assert set(ICONS) == set(get_args(Conclusion))
    assert len(set(ICONS.values())) == len(ICONS)


def test_the_values_are_frozen() -> None:
    output = CheckOutput("success", "ok", "s")
    with pytest.raises(AttributeError):
        output.title = "changed"  # type: ignore[misc]
