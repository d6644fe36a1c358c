"""app/suite/check_run.py with the real sandbox, each check started as the service starts it
(by the runner, tests/suite/sandboxed.py): what the commands are given (the re-run selection,
secrets, the network, the download cache) and what the outcome takes from what they leave.

Install commands here are plain shell unless a test needs a tool, so most runs cost the sandbox
and a `python -m venv`; the whole flow with pip and pytest is in tests/e2e.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.report.summary import build_output
from app.suite.egress import EgressPolicy
from tests.suite.sandbox.helpers import ISOLATED
from tests.suite.sandboxed import World, check, make_runner

pytestmark = ISOLATED


async def test_a_link_planted_where_the_re_run_selection_goes_is_not_written_through(
    world: World, tmp_path: Path
) -> None:
    canary = tmp_path / "authorized_keys"
    canary.write_text("ssh-ed25519 AAAA the operator\n")
    plant = (
        f"ln -s {canary} /conveyor/out/only.txt; ln -s {canary} /conveyor/out/junit-0.xml; "
        f"ln -s {canary} /conveyor/in/only.txt 2>&1 || echo in is read-only"
    )
    outcome, log = await world.run(
        check(install=(plant,), test=("cat $CONVEYOR_ONLY; cat /conveyor/out/only.txt",)),
        only_tests=("test_a.py::test_one", "test_b.py::test_two\nssh-rsa EVIL attacker"),
    )
    assert canary.read_text() == "ssh-ed25519 AAAA the operator\n"
    assert "in is read-only" in log
    assert "test_a.py::test_one\n" in log  # the selection reached the commands
    assert "EVIL" not in log  # an id with a line break selects nothing else
    assert outcome.returncode != 0  # the link planted in out/ leads nowhere inside


async def test_secrets_reach_the_commands_but_never_the_environment_s_key(world: World) -> None:
    spec = check(test=('echo "token=$TOKEN"',), secrets=("TOKEN",))
    _, first_log = await world.run(spec, secrets={"TOKEN": "first-value"})
    second, second_log = await world.run(spec, secrets={"TOKEN": "second-value"})
    assert "\ntoken=first-value\n" in first_log
    assert "\ntoken=second-value\n" in second_log
    assert "Environment reused" in second_log  # same dependencies, other secret values
    [reused] = [line for line in second.about if line.startswith("Environment: reused")]
    assert "value" not in reused


async def test_installs_reach_out_through_the_egress_proxy_and_its_refusals_are_logged(
    tmp_path: Path,
    venv_templates: Path,
) -> None:
    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nindex\n")
        await writer.drain()
        writer.close()

    served = await asyncio.start_server(hello, "127.0.0.1", 0)
    port = served.sockets[0].getsockname()[1]
    other = await asyncio.start_server(hello, "127.0.0.1", 0)  # e.g. Conveyor's own port
    other_port = other.sockets[0].getsockname()[1]
    # The host's loopback plays the operator's index: the one destination allowed there.
    policy = EgressPolicy(allowed=frozenset({("127.0.0.1", port)}))
    world = World(tmp_path, make_runner(tmp_path, venvs=venv_templates, egress=policy))
    fetch = (
        "python -c 'import sys, urllib.request; "
        "print(urllib.request.urlopen(sys.argv[1]).read().decode())' "
    )
    async with served, other:
        outcome, log = await world.run(
            check(
                install=(
                    f"NO_PROXY= no_proxy= {fetch} http://127.0.0.1:{port}/simple/",
                    f"NO_PROXY= no_proxy= {fetch} http://127.0.0.1:{other_port}/ || echo refused",
                )
            )
        )
    assert outcome.stopped is None, log
    assert "\nindex\n" in log
    assert f"(network: 127.0.0.1:{port} (1))" in log
    assert (
        f"conveyor: a run's network does not reach 127.0.0.1:{other_port}: this machine's "
        "loopback" in log
    )
    assert "refused\n" in log


# ---- counts come through when no report of Conveyor's is left


async def test_a_custom_runner_s_unittest_counts_reach_the_outcome(world: World) -> None:
    runner = (
        "python -c 'import unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_a(self): pass\n"
        '    def test_b(self): self.skipTest("no")\n'
        'unittest.main(module="__main__")\''
    )
    outcome, log = await world.run(check(test=(runner,)))
    assert "Ran 2 tests" in log
    assert outcome.results is None  # not `python -m unittest`: no results, only the counts
    assert outcome.counted is not None
    assert (outcome.counted.passed, outcome.counted.skipped) == (1, 1)
    assert build_output(outcome).title == "1 test passed"  # before: "Passed", no count


async def test_a_project_s_own_junitxml_is_read_when_conveyor_s_report_is_not_written(
    world: World, tmp_path: Path
) -> None:
    # As tox does: PYTEST_ADDOPTS and PYTHONPATH are not passed on, and the project's tox.ini
    # gives pytest its own --junitxml. A second command plants a link to a host file and says
    # pytest wrote it there: that one is not read.
    canary = tmp_path / "host.xml"
    canary.write_text('<testsuite><testcase classname="host" name="secret"/></testsuite>')
    failing = "printf 'def test_bad():\\n    assert 1 == 2\\n' > test_bad.py"
    tox_like = "env -u PYTEST_ADDOPTS -u PYTHONPATH python -m pytest -p no:cacheprovider"
    outcome, log = await world.run(
        check(
            install=("python -m pip install -q pytest",),
            test=(
                f"{failing} && {tox_like} --junitxml=reports/own.xml || true",
                f"ln -s {canary} planted.xml && "
                "echo '---- generated xml file: /conveyor/src/planted.xml ----'",
            ),
        )
    )
    assert "generated xml file: /conveyor/src/reports/own.xml" in log, log
    assert outcome.results is not None
    # pytest's default xunit2 names no file: the tests are named by module and function.
    assert sorted(case.node_id for case in outcome.results.cases) == [
        "test_bad::test_bad",
        "test_nothing::test",
    ]
    output = build_output(outcome)
    assert (output.conclusion, output.title) == ("failure", "1 test failed")
    assert "**1** passed · **1** failed" in output.summary


async def test_a_test_step_with_the_network_shares_the_download_cache(world: World) -> None:
    # tox or nox run as themselves install in the test step: their downloads are kept too.
    write = 'mkdir -p "$PIP_CACHE_DIR" && touch "$PIP_CACHE_DIR/kept" && echo written'
    outcome, log = await world.run(check(test=(write,), network=True))
    assert outcome.returncode == 0, log
    assert (world.root / "downloads" / "repo" / "pip" / "kept").is_file()
    # Without the network, nothing installs: the cache is not there to write.
    outcome, log = await world.run(check(test=(write.replace("kept", "not-kept"),)))
    assert outcome.returncode != 0, log
    assert not (world.root / "downloads" / "repo" / "pip" / "not-kept").exists()


async def test_tox_run_as_itself_reports_to_conveyor(world: World) -> None:
    # tox 4 passes its environments only the variables they name; TOX_OVERRIDE adds Conveyor's,
    # so the pytest tox runs writes the plugin's report: results, places, the failing line.
    # (Before, the count came only from pytest's last line, and there were no annotations.)
    tox_ini = (
        "[tox]\\nskipsdist = true\\n"
        "[testenv]\\ndeps = pytest\\ncommands = pytest -p no:cacheprovider\\n"
    )
    failing = "def test_bad():\\n    total = 1 + 1\\n    assert total == 3\\n"
    write = f"printf '{tox_ini}' > tox.ini && printf '{failing}' > test_bad.py"
    outcome, log = await world.run(
        check(
            install=("python -m pip install -q tox",),
            test=(f"{write} && tox run -e py",),
            network=True,  # tox builds its environment while it runs
        )
    )
    assert "1 failed, 1 passed" in log, log
    assert outcome.results is not None, log
    output = build_output(outcome)
    assert (output.conclusion, output.title) == ("failure", "1 test failed"), log
    (annotation,) = output.annotations
    assert (annotation.path, annotation.start_line) == ("test_bad.py", 3)
