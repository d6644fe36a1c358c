"""app/commands/serve.py, `python -m app serve` and `web` as an operator starts them: a bad
setting, a database out of reach or a taken port stops the start with one line naming it; once
it says it listens, it answers, until SIGTERM ends it with exit code 0."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

import pytest

from tests.commands.launch import free_port, quiet_settings, running, settings, start


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


@pytest.mark.parametrize("command", ["serve", "web"])
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


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("command", "slots"),
    [
        ("serve", ['conveyor_job_slots{state="busy"} 0.0', 'conveyor_job_slots{state="idle"} 1.0']),
        ("web", []),  # it runs no tests
    ],
)
def test_once_it_says_it_listens_it_answers_until_sigterm_ends_it(
    pem: str, tmp_path: Path, command: str, slots: list[str]
) -> None:
    port = free_port()
    env = quiet_settings(pem, tmp_path / "data", PORT=str(port))
    with running(env, command, stderr=tmp_path / "stderr") as process:
        assert process.stdout is not None
        said = process.stdout.readline()
        assert said.startswith(f"Conveyor {command} listening on http://127.0.0.1:{port} "), said
        assert "(GitHub API https://api.github.com, public URL https://ci.example.com;" in said
        # Said after the site started: the port answers now, not some time later.
        assert get(port, "/healthz")[0] == 200
        status, metrics = get(port, "/metrics")
        assert status == 200
        assert 'conveyor_jobs{state="queued"} 0.0' in metrics.splitlines()
        assert [line for line in metrics.splitlines() if line.startswith("conveyor_job_slots")] == (
            slots
        )
        process.terminate()
        assert process.wait(timeout=30) == 0
    assert "Traceback" not in (tmp_path / "stderr").read_text()
