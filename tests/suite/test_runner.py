"""app/suite/runner.py with the real sandbox: the folders the runner gives a run and removes
after it, and what untrusted runs are given. The steps of a check are tested in
tests/suite/test_check_run.py, the package index settings in tests/suite/test_package_index.py.

Install commands here are plain shell (no package is installed), so each run costs the sandbox
and a `python -m venv`; the whole flow with pip and pytest is in tests/e2e.
"""

from __future__ import annotations

from pathlib import Path

from tests.suite.sandbox.helpers import ISOLATED
from tests.suite.sandboxed import World, check, make_runner

pytestmark = ISOLATED


async def test_what_an_earlier_attempt_left_is_not_read_and_the_run_leaves_nothing(
    world: World, tmp_path: Path
) -> None:
    artifacts = tmp_path / "attempt"
    (artifacts / "out").mkdir(parents=True)
    (artifacts / "out" / "junit-0.xml").write_text(
        '<testsuite><testcase classname="t" name="from_a_killed_attempt"/></testsuite>'
    )
    outcome, _ = await world.run(check(), artifacts=artifacts)
    assert outcome.results is None  # `true` wrote no report; the old one was not taken
    assert sorted(p.name for p in artifacts.iterdir()) == ["output.log"]


async def test_untrusted_installs_get_the_index_without_its_credentials(
    tmp_path: Path, venv_templates: Path
) -> None:
    index = "https://ci-bot:hunter2-long-secret@pypi.corp.example/simple"
    world = World(
        tmp_path,
        make_runner(tmp_path, venvs=venv_templates, install_env=(("PIP_INDEX_URL", index),)),
    )
    show = ('echo "index=$PIP_INDEX_URL"',)
    _, trusted_log = await world.run(check(install=show, env=(("V", "1"),)))
    _, fork_log = await world.run(check(install=show, env=(("V", "2"),)), trusted=False)
    assert f"index={index}" in trusted_log
    assert "index=https://pypi.corp.example/simple" in fork_log
    assert "hunter2" not in fork_log
