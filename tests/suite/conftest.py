"""Fixtures of the tests of app/suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.suite.sandboxed import World, make_runner


@pytest.fixture
def world(tmp_path: Path, venv_templates: Path) -> World:
    return World(tmp_path, make_runner(tmp_path, venvs=venv_templates))
