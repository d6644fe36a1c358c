"""Reading JSON request bodies the way GitHub's schema validator does: every problem found,
one line each, in the validator's words, then one 422 "Invalid request." listing them all.
Branch protection (protection.py) and rulesets (rulesets.py) read their bodies with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.localgithub.checks import ruby_inspect
from app.localgithub.errors import invalid_request


class BodyValidator:
    """Collects schema problems one line each, in the words GitHub's validator uses."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def missing(self, obj: Mapping[str, Any], key: str) -> bool:
        if key in obj:
            return False
        self.problems.append(f'"{key}" wasn\'t supplied.')
        return True

    def wrong(self, path: str, value: Any, kind: str) -> None:
        self.problems.append(f"For '{path}', {ruby_inspect(value)} is not {kind}.")

    def boolean(
        self, obj: Mapping[str, Any], key: str, *, required: bool = False, nullable: bool = False
    ) -> bool | None:
        if key not in obj:
            if required:
                self.missing(obj, key)
            return None
        value = obj[key]
        if value is None and nullable:
            return None
        if not isinstance(value, bool):
            self.wrong(f"properties/{key}", value, "a boolean")
            return None
        return value

    def strings(self, obj: Mapping[str, Any], key: str, *, required: bool = False) -> list[str]:
        if key not in obj:
            if required:
                self.missing(obj, key)
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.wrong(f"properties/{key}", value, "an array")
            return []
        bad = [item for item in value if not isinstance(item, str)]
        for item in bad:
            self.wrong("items", item, "a string")
        return [item for item in value if isinstance(item, str)]

    def obj(self, value: Any, path: str, *, nullable: bool = False) -> Mapping[str, Any] | None:
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            self.wrong(path, value, "an object" if not nullable else "an object or null")
            return None
        return value

    def raise_if_any(self, doc: str) -> None:
        if self.problems:
            raise invalid_request(self.problems, doc)
