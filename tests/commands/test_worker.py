"""app/commands/worker.py, `python -m app worker` as an operator starts it: it runs tests from
the queue and serves nothing but its own metrics (METRICS_PORT), until SIGTERM ends it with exit
code 0; what stops its start is said in one line, with exit code 2."""

from __future__ import annotations

import argparse
import http.client
import socket
from pathlib import Path

import pytest

from app.commands import worker
from tests.commands.launch import free_port, quiet_settings, running, settings, start


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_a_bad_setting_stops_it_with_one_line_and_exit_code_2(
    pem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in settings(pem, tmp_path, WORKERS="many").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert worker.main(argparse.Namespace(command="worker")) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "conveyor: cannot start: WORKERS: must be a whole number, got 'many'\n"


def test_an_unreachable_database_stops_it_without_showing_its_password(
    pem: str, tmp_path: Path
) -> None:
    env = settings(pem, tmp_path, DATABASE_URL="postgresql://ci:hunter2@127.0.0.1:1/conveyor")
    result = start(env, "worker")
    assert result.returncode == 2
    assert "conveyor: cannot start: cannot connect to DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "running" not in result.stdout


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


def test_without_database_url_it_works_on_the_data_folders_sqlite_until_sigterm(
    pem: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    port = free_port()
    env = quiet_settings(pem, data, WORKERS="3", METRICS_PORT=str(port))
    with running(env, "worker", stderr=tmp_path / "stderr") as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "Conveyor worker running 3 jobs at a time\n"
        assert process.stdout.readline() == (
            f"Conveyor worker metrics on http://127.0.0.1:{port}/metrics\n"
        )
        assert get(port, "/healthz")[0] == 200
        status, metrics = get(port, "/metrics")
        assert status == 200
        lines = metrics.splitlines()
        assert 'conveyor_job_slots{state="idle"} 3.0' in lines
        # Its own counts only: the queue is the web process's to say (else summed twice).
        assert not any(line.startswith("conveyor_jobs") for line in lines)
        # Nothing but metrics: the service's pages and webhooks are not here.
        assert get(port, "/webhook")[0] == 404
        process.terminate()
        assert process.wait(timeout=30) == 0
    assert (data / "conveyor.sqlite3").is_file()
    assert "Traceback" not in (tmp_path / "stderr").read_text()


def test_without_metrics_port_it_serves_nothing(pem: str, tmp_path: Path) -> None:
    with running(
        quiet_settings(pem, tmp_path / "data"), "worker", stderr=tmp_path / "stderr"
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "Conveyor worker running 1 jobs at a time\n"
        process.terminate()
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == ""  # no metrics address
