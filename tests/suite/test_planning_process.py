"""Planning in a child process: the same plan, the same errors, and a clear ConfigError naming
the file whatever stops the child (time, memory, an unexpected exception)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.suite.plan import ConfigError
from app.suite.planner import make_plan
from app.suite.planning_process import Limits, Planner
from tests.suite import projects
from tests.suite.projects import write

HERE = "3.11.7"


@pytest.fixture
async def planner() -> AsyncIterator[Planner]:
    made = Planner()
    yield made
    await made.aclose()


async def test_the_child_s_plan_is_the_planner_s(tmp_path: Path, planner: Planner) -> None:
    configured = tmp_path / "configured"
    write(
        configured,
        {
            ".conveyor.yml": (
                "checks:\n  tests:\n    run: [pytest -x]\n    python: ['3.11', '3.12']\n"
                "    env: {A: b}\n    secrets: [TOKEN]\n"
            )
        },
    )
    detected = projects.with_pre_commit(tmp_path / "detected")
    for root in (configured, detected):
        assert await planner.plan(root, [HERE]) == make_plan(root, [HERE])
        # Again: the spare started after the first answer serves the second.
        assert await planner.plan(root, [HERE]) == make_plan(root, [HERE])


async def test_a_config_error_comes_back_whole(tmp_path: Path, planner: Planner) -> None:
    write(tmp_path, {".conveyor.yml": "checks:\n  tests: {}\n"})
    with pytest.raises(ConfigError) as caught:
        await planner.plan(tmp_path, [HERE])
    assert (caught.value.path, caught.value.line) == (".conveyor.yml", 2)
    assert caught.value.message.startswith("check `tests` has no `run`")


def _big_yaml(root: Path, line: str) -> None:
    """A .conveyor.yml of just under 4 MiB (CONFIG_LIMIT): the parser's slowest legal input."""
    write(root, {".conveyor.yml": "checks:\n  t:\n    run: x\n" + line * (4_000_000 // len(line))})


async def test_planning_past_its_time_is_stopped_and_names_the_file(tmp_path: Path) -> None:
    _big_yaml(tmp_path, "# " + "x" * 77 + "\n")  # seconds of pure-Python scanning
    planner = Planner(Limits(timeout=0.5))
    try:
        with pytest.raises(ConfigError) as caught:
            await planner.plan(tmp_path, [HERE])
    finally:
        await planner.aclose()
    assert caught.value.path == ".conveyor.yml"
    assert caught.value.message.startswith("planning took longer than 0 s, so Conveyor stopped")
    assert "YAML alias bomb" in caught.value.message


async def test_planning_past_its_memory_is_stopped_and_names_the_file(tmp_path: Path) -> None:
    # 2,000 keys of 1,000 characters: some tens of MB as YAML tokens and nodes, more than
    # the 40 MB this child may have (the interpreter and the planner take about 30).
    _big_yaml(tmp_path, "k" * 1000 + ": " + "v" * 1000 + "\n")
    planner = Planner(Limits(memory=40 * 1024 * 1024))
    try:
        with pytest.raises(ConfigError) as caught:
            await planner.plan(tmp_path, [HERE])
    finally:
        await planner.aclose()
    assert caught.value.path == ".conveyor.yml"
    assert caught.value.message.startswith("planning took more than 40 MB of memory")


async def test_an_unexpected_exception_names_the_file_not_conveyor(
    tmp_path: Path, planner: Planner
) -> None:
    # An interpreter version the planner cannot read makes packaging raise InvalidVersion
    # while it weighs requires-python: no ConfigError, an exception nobody expected.
    write(
        tmp_path,
        {"pyproject.toml": '[project]\nname = "p"\nrequires-python = ">=3.99"\n'},
    )
    with pytest.raises(ConfigError) as caught:
        await planner.plan(tmp_path, ["not a version"])
    assert "inside Conveyor" not in str(caught.value)
    assert caught.value.path == "pyproject.toml"
    assert caught.value.message.startswith(
        "Conveyor could not work out what to run from it (planning ended with `"
    )
    assert "InvalidVersion" in caught.value.message


async def test_a_dead_spare_is_replaced(tmp_path: Path, planner: Planner) -> None:
    write(tmp_path, {".conveyor.yml": "checks:\n  tests:\n    run: pytest\n"})
    await planner.plan(tmp_path, [HERE])
    spare = planner._spare
    assert spare is not None
    (await spare).kill()
    await (await spare).wait()
    assert [c.name for c in (await planner.plan(tmp_path, [HERE])).checks] == ["tests"]


async def test_the_event_loop_is_free_while_the_child_plans(tmp_path: Path) -> None:
    _big_yaml(tmp_path, "# " + "x" * 77 + "\n")
    planner = Planner()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(tick())
    try:
        await planner.plan(tmp_path, [HERE])
    finally:
        ticking.cancel()
        await planner.aclose()
    # Seconds of parsing; in the service process the loop would not have ticked at all.
    assert ticks > 10
