"""What to run for a commit: the checks, each with its install and test commands.

A plan comes from the repository's own configuration (`[tool.conveyor]` in pyproject.toml, or
`.conveyor.yml`) or, without one, from what the project shows (dependency groups, extras,
requirements files, tox, nox, pre-commit...). Both paths produce these values; everything after
(environments, the sandbox, the report) only reads them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_TIMEOUT = 1800.0  # seconds, for a whole check (install + tests)


# Where a tool run as itself (tox, nox, hatch) keeps the environments it builds: inside the
# check's environment, so that they are cached with it (`$CONVEYOR_TOOL_ENVIRONMENTS`).
TOOL_ENVIRONMENTS = "tool-environments"


@dataclass(frozen=True)
class CheckSpec:
    """One check: one check run on GitHub (e.g. `tests (3.12)`, `lint`)."""

    name: str
    # "3.12", or "" for the service's default interpreter.
    python: str
    # Shell commands (run with `sh -c`) in the project's folder; `install` runs with the network,
    # `test` without unless `network` is set. The environment is `/conveyor/env/venv` (on PATH).
    install: tuple[str, ...]
    test: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    env: tuple[tuple[str, str], ...] = ()
    network: bool = False
    # tox, nox or hatch runs itself: the test step gets a writable copy of the environments it
    # built in the install step (`$CONVEYOR_TOOL_ENVIRONMENTS`), which it changes as it runs.
    tool_runs_itself: bool = False
    # Files (relative to the project root) whose contents decide whether a cached environment can
    # be reused: everything that declares dependencies or install steps.
    dependency_files: tuple[str, ...] = ()
    # Names of environment variables whose values must be masked in the output.
    secrets: tuple[str, ...] = ()
    # Lines for the summary: what was detected or configured, and how to change it.
    explanation: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    checks: tuple[CheckSpec, ...]
    # "pyproject.toml [tool.conveyor]", ".conveyor.yml" or "detected".
    origin: str
    # Lines for every check's summary (e.g. "No tests found: ...").
    notes: tuple[str, ...] = field(default_factory=tuple)


class ConfigError(Exception):
    """The repository's configuration is wrong: where (file and line) and what."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return asdict(plan)


def plan_from_json(data: dict[str, Any]) -> Plan:
    checks = tuple(
        CheckSpec(
            **{
                **check,
                "install": tuple(check["install"]),
                "test": tuple(check["test"]),
                "env": tuple((k, v) for k, v in check["env"]),
                "dependency_files": tuple(check["dependency_files"]),
                "secrets": tuple(check["secrets"]),
                "explanation": tuple(check["explanation"]),
            }
        )
        for check in data["checks"]
    )
    return Plan(checks=checks, origin=data["origin"], notes=tuple(data["notes"]))


def check_names(plan: Plan, default: tuple[str, ...]) -> tuple[str, ...]:
    """The check runs a plan makes.

    A detected plan without tests still reports under the default names (a required check must
    report, if only to say there is nothing to test), beside whatever else it found (pre-commit).
    """
    names = tuple(check.name for check in plan.checks)
    if plan.origin == "detected":
        names = tuple(n for n in default if n not in names) + names
    return names or default
