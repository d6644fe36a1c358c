"""app/suite/sandbox/values.py: the limits a run gets when not told otherwise, and the values
that describe a run and its result."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.suite.sandbox import (
    EGRESS_FOLDER,
    EGRESS_FORWARDER,
    HOME,
    Egress,
    GiB,
    Limits,
    MiB,
    Mount,
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
)
from tests.suite.sandbox.helpers import ISOLATED, run


def test_the_default_limits() -> None:
    assert Limits() == Limits(
        memory_bytes=4 * GiB,
        cpu_seconds=3600,
        processes=512,
        file_size_bytes=2 * GiB,
        open_files=4096,
        disk_bytes=10 * GiB,
    )
    assert (MiB, GiB) == (2**20, 2**30)


@ISOLATED
async def test_a_run_without_limits_given_gets_the_defaults(sandbox: Sandbox) -> None:
    # bwrap's sh is dash: `ulimit -f` counts 512-byte blocks, `-t` seconds.
    ran = await run(sandbox, "ulimit -n; ulimit -t; ulimit -f; ulimit -c")
    assert ran.output.split() == ["4096", "3600", str(2 * GiB // 512), "0"]
    assert ran.result.limit is None


def test_the_values_are_frozen_and_compare_by_value(tmp_path: Path) -> None:
    assert Mount(tmp_path, "/conveyor/src") == Mount(tmp_path, "/conveyor/src", writable=False)
    assert len({Mount(tmp_path, "/a"), Mount(tmp_path, "/a"), Mount(tmp_path, "/a", True)}) == 2
    assert Egress(tmp_path / "s", 3128, "python3") == Egress(tmp_path / "s", 3128, "python3")
    result = SandboxResult(0, 1.5, timed_out=False, cancelled=False, limit=None)
    for value, field in (
        (Limits(), "processes"),
        (Mount(tmp_path, "/a"), "writable"),
        (result, "limit"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, 1)


def test_the_job_s_places_are_under_conveyor_and_apart() -> None:
    places = [HOME, EGRESS_FOLDER, EGRESS_FORWARDER]
    assert all(place.startswith("/conveyor/") for place in places)
    assert len(set(places)) == len(places)
    assert not EGRESS_FORWARDER.startswith(EGRESS_FOLDER + "/")  # the folder is the proxy's


def test_sandbox_unavailable_carries_its_message() -> None:
    error = SandboxUnavailable("bubblewrap is not installed: apt-get install bubblewrap")
    assert isinstance(error, Exception)
    assert str(error) == "bubblewrap is not installed: apt-get install bubblewrap"
