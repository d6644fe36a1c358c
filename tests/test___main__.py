"""app/__main__.py, `python -m app [COMMAND]`: the commands and their arguments, the default
command, and the exit code of the command that runs (each command's own behaviour is tested in
tests/commands/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.__main__ import COMMANDS, main
from tests.commands.launch import ROOT, free_port, quiet_settings, running
from tests.keys import key_pair


def parse_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What `python -m app ARGV` says when it refuses its arguments (exit code 2)."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "{serve,web,worker,demo,check,protect}" in text
    for command in COMMANDS:
        assert f"{command.name} {command.help}" in text


def test_an_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    err = parse_error(["start"], capsys)
    assert err.startswith("usage: python -m app ")
    assert "argument command: invalid choice: 'start'" in err


def test_the_demo_takes_a_port_and_no_serve(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--port PORT the service's port" in text
    assert "--no-serve exit after printing the check run" in text
    assert "argument --port: invalid int value: 'eighty'" in parse_error(
        ["demo", "--port", "eighty"], capsys
    )
    assert "unrecognized arguments: --serve" in parse_error(["demo", "--serve"], capsys)


def test_protect_needs_a_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert "the following arguments are required: OWNER/REPO" in parse_error(["protect"], capsys)


@pytest.mark.parametrize("command", ["serve", "web", "worker"])
def test_commands_set_by_the_environment_take_no_arguments(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "unrecognized arguments: --port 8080" in parse_error([command, "--port", "8080"], capsys)


def test_the_commands_exit_code_is_the_processes(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [sys.executable, "-m", "app", "check", str(missing)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr == f"conveyor check: {missing}: not a folder\n"


def test_only_the_module_of_the_command_that_runs_is_imported(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from app.__main__ import main\n"
        f"code = main(['check', {str(tmp_path / 'nowhere')!r}])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith('app.commands.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout == "2 ['app.commands.check']\n", result.stderr


def test_without_a_command_it_serves(tmp_path: Path) -> None:
    port = free_port()
    env = quiet_settings(key_pair()[0], tmp_path / "data", PORT=str(port))
    with running(env, stderr=tmp_path / "stderr") as process:
        assert process.stdout is not None
        said = process.stdout.readline()
        assert said.startswith(f"Conveyor serve listening on http://127.0.0.1:{port} "), said
        process.terminate()
        assert process.wait(timeout=30) == 0
