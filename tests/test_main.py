"""`python -m app` as an operator starts it: a bad setting stops it with one line naming it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.keys import key_pair

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pem() -> str:
    return key_pair()[0]


def settings(pem: str, data_dir: Path, **more: str) -> dict[str, str]:
    """The four required settings and a data folder, plus `more`."""
    return {
        "GITHUB_APP_ID": "1",
        "GITHUB_PRIVATE_KEY": pem,
        "GITHUB_WEBHOOK_SECRET": "s",
        "PUBLIC_URL": "https://ci.example.com",
        "DATA_DIR": str(data_dir),
        **more,
    }


def start(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *command],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"GITHUB_APP_ID": ""}, "GITHUB_APP_ID: missing (see .env.example)"),
        ({"GITHUB_APP_ID": "abc"}, "GITHUB_APP_ID: must be the app's numeric id, got 'abc'"),
        ({"GITHUB_WEBHOOK_SECRET": ""}, "GITHUB_WEBHOOK_SECRET: missing (see .env.example)"),
        ({"GITHUB_PRIVATE_KEY": "not a key"}, "GITHUB_PRIVATE_KEY: not a PEM private key"),
        ({"PORT": "eighty"}, "PORT: must be a whole number, got 'eighty'"),
        ({"WORKERS": "0"}, "WORKERS: must be between 1 and 256, got 0"),
        ({"GITHUB_API_URL": "api.github.com"}, "GITHUB_API_URL: must be an http(s) URL"),
        ({"GITHUB_TIMEOUT": "0"}, "GITHUB_TIMEOUT: must be between 1 and 600, got 0"),
        ({"PUBLIC_URL": ""}, "PUBLIC_URL: missing; set it to the address people and GitHub"),
        (
            {"DATABASE_URL": "mysql://ci:hunter2@db/conveyor"},
            "DATABASE_URL: must be a postgresql:// URL, got one starting mysql://",
        ),
    ],
)
def test_a_bad_setting_stops_the_start_with_one_line(
    pem: str, tmp_path: Path, change: dict[str, str], line: str
) -> None:
    env = settings(pem, tmp_path, **change)
    result = start({k: v for k, v in env.items() if v})
    assert result.returncode == 2
    assert result.stdout == ""
    [printed] = result.stderr.splitlines()
    assert printed.startswith(f"conveyor: cannot start: {line}")
    assert "BEGIN" not in result.stderr


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    result = start(
        {
            "GITHUB_APP_ID": "1",
            "GITHUB_PRIVATE_KEY_PATH": str(tmp_path / "nope.pem"),
            "GITHUB_WEBHOOK_SECRET": "s",
        }
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"conveyor: cannot start: GITHUB_PRIVATE_KEY_PATH: cannot read {tmp_path / 'nope.pem'}: "
        "No such file or directory"
    )


@pytest.mark.parametrize("command", ["serve", "web", "worker"])
def test_an_unreachable_database_stops_the_start_without_showing_its_password(
    pem: str, tmp_path: Path, command: str
) -> None:
    env = settings(
        pem, tmp_path, PORT="0", DATABASE_URL="postgresql://ci:hunter2@127.0.0.1:1/conveyor"
    )
    result = start(env, command)
    assert result.returncode == 2
    assert "conveyor: cannot start: cannot connect to DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "listening" not in result.stdout


def test_a_worker_whose_metrics_port_is_taken_stops_with_one_line(pem: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start(
            settings(pem, tmp_path, HOST="127.0.0.1", METRICS_PORT=str(port), WORKERS="1"),
            "worker",
        )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"conveyor: cannot start: METRICS_PORT: cannot listen on 127.0.0.1:{port}: "
        "Address already in use"
    )


def test_a_taken_port_stops_the_start_with_one_line(pem: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start(settings(pem, tmp_path, HOST="127.0.0.1", PORT=str(port), WORKERS="1"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stdout
    assert result.stderr.splitlines()[-1] == (
        f"conveyor: cannot start: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_listening_is_said_once_the_port_is_taken_and_answers(pem: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = settings(pem, tmp_path, HOST="127.0.0.1", PORT=str(port), WORKERS="1")
    # The `with` closes the pipe to its stdout when the test ends.
    with subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith(f"Conveyor serve listening on http://127.0.0.1:{port} "), line
            # Said after the site started: the port answers now, not some time later.
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        finally:
            process.terminate()
            process.wait(timeout=30)
