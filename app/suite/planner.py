"""The plan for a commit: the repository's configuration when it has one, else detection.

Configured checks already carry one Python version each (`python = ["3.11", "3.12"]` became
`tests (3.11)` and `tests (3.12)` in config.py). A detected plan runs on the newest Python the
project declares (classifiers, tox env_list, nox `python=`, its CI matrix) that is installed and
that `requires-python` allows; without such a declaration, on the server's default Python unless
`requires-python` rules that one out, and then on the newest one it allows. A version that is not
installed is not an error here: the check keeps it, and the runner fails that check with
`missing_python_message`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from app.suite.config import load_config
from app.suite.declared_pythons import Declared, declared_pythons
from app.suite.detect import detect, requires_python
from app.suite.plan import CheckSpec, Plan
from app.suite.pre_commit import PRE_COMMIT_CHECK
from app.suite.project import read_project

__all__ = ["make_plan", "match_python", "missing_python_message"]


def make_plan(root: Path, available: Sequence[str]) -> Plan:
    """`available`: the Python versions installed on this machine, like "3.12.1"."""
    configured = load_config(root)
    if configured is not None:
        return configured
    spec = requires_python(root)
    declared = _declared_choice(declared_pythons(read_project(root)), spec, available)
    # The Python first: what is detected (a tox env's factors) depends on it.
    if declared is not None:
        newest, why = declared
        plan = detect(root, newest)
        return replace(plan, checks=tuple(_pinned(c, newest, why) for c in plan.checks))
    chosen = _python_for(spec, available) if spec else None
    if not chosen:
        return detect(root, _minor(_default_python(available)) if available else None)
    plan = detect(root, chosen)
    line = (
        f"The project requires Python `{spec}`, which not every Python here allows: using {chosen}."
    )
    checks = tuple(_pinned(check, chosen, line) for check in plan.checks)
    return replace(plan, checks=checks)


def _declared_choice(
    declared: Declared, spec: str | None, available: Sequence[str]
) -> tuple[str, str] | None:
    """The newest version the project declares (classifiers, tox, nox, CI matrix) that is
    installed and that `requires-python` allows, and the line that says so."""
    installed = {_minor(v) for v in available}
    fitting = [
        v
        for v in declared.versions
        if v in installed and (spec is None or _satisfies(_version(v), spec) is not False)
    ]
    if not fitting:
        return None
    chosen = fitting[-1]
    line = (
        f"Python {chosen}: the newest of the versions the project declares "
        f"({', '.join(declared.versions)}, in its {' and '.join(declared.sources)}) "
        "that is installed here."
    )
    return chosen, line


def match_python(requested: str, available: Sequence[str]) -> str | None:
    """The installed version that answers a request: "3.12" → the newest "3.12.x"; None if none."""
    matching = [v for v in available if v == requested or v.startswith(requested + ".")]
    return max(matching, key=_version) if matching else None


def missing_python_message(requested: str, available: Sequence[str]) -> str:
    if not available:
        return (
            f"Python {requested} was requested, but this Conveyor server has no Python installed "
            "that it can use. Ask its administrator to install one."
        )
    listed = ", ".join(f"{_minor(v)} ({v})" for v in sorted(available, key=_version))
    return (
        f"Python {requested} was requested, but it is not installed on this Conveyor server. "
        f"Available: {listed}. Ask for one of these in `python` (see README), or ask the "
        f"server's administrator to install Python {requested}."
    )


def _pinned(check: CheckSpec, python: str, line: str) -> CheckSpec:
    # pre-commit's hooks bring their own environments; only the project's checks need its Python.
    if check.python or check.name == PRE_COMMIT_CHECK:
        return check
    explanation = (*check.explanation[:-1], line, *check.explanation[-1:])
    return replace(check, python=python, explanation=explanation)


def _python_for(spec: str, available: Sequence[str]) -> str | None:
    """The version to pin, or None when the default will do (or the specifier is unreadable)."""
    verdicts = [_satisfies(_version(v), spec) for v in available]
    if not available or None in verdicts:
        return None
    if _satisfies(_version(_default_python(available)), spec):
        return None
    allowed = [v for v, ok in zip(available, verdicts, strict=True) if ok]
    if allowed:
        return _minor(max(allowed, key=_version))
    # Nothing here fits: ask for the lowest version it allows; the runner then names what exists.
    return _lowest_allowed(spec)


def _default_python(available: Sequence[str]) -> str:
    """What a check without `python` runs on: the service's own major.minor when installed, else
    the newest (the rule of `pythons.choose`)."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    return match_python(own, available) or max(available, key=_version)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def _minor(text: str) -> str:
    return ".".join(str(part) for part in _version(text)[:2])


def _satisfies(version: tuple[int, ...], spec: str) -> bool | None:
    """Whether a Python version meets `requires-python`; None when the specifier is unreadable."""
    try:
        specifiers = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    return specifiers.contains(Version(".".join(map(str, version))), prereleases=True)


def _lowest_allowed(spec: str) -> str | None:
    """The lowest minor version a specifier names as allowed (`>=3.13` → "3.13")."""
    try:
        specifiers = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    lows = [
        Version(s.version.removesuffix(".*")).release
        for s in specifiers
        if s.operator in (">=", ">", "~=", "==")
    ]
    if not lows:
        return None
    low = max(lows)
    return f"{low[0]}.{low[1] if len(low) > 1 else 0}"
