"""GitHub's published API description, cut to what Conveyor uses (made by extract.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC = Path(__file__).with_name("github_spec.json")


@cache
def spec() -> dict[str, Any]:
    data = json.loads(SPEC.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def webhook_examples() -> list[tuple[str, int, dict[str, Any]]]:
    """(event, index, payload) of every published example of the events Conveyor handles."""
    return [
        (event, index, example)
        for event, examples in sorted(spec()["webhooks"].items())
        for index, example in enumerate(examples)
    ]


def operation(method: str, path: str) -> dict[str, Any]:
    found = spec()["operations"][f"{method.upper()} {path}"]
    assert isinstance(found, dict)
    return found
