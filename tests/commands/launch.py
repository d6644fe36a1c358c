"""`python -m app` started as an operator starts it: the environment it is given, and the
process, run to its end or kept running until the test stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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


def quiet_settings(pem: str, data_dir: Path, **more: str) -> dict[str, str]:
    """Settings for a service that starts and stays on this machine: one worker on 127.0.0.1,
    and an allowed owner, so that it asks nothing of GitHub (api.github.com) at the start."""
    quiet = {"HOST": "127.0.0.1", "WORKERS": "1", "ALLOWED_OWNERS": "octo-org"}
    return settings(pem, data_dir, **{**quiet, **more})


def start(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m app COMMAND` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "app", *command],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextmanager
def running(env: dict[str, str], *command: str, stderr: Path) -> Iterator[subprocess.Popen[str]]:
    """`python -m app COMMAND`, its stdout a pipe to read (what it says to the operator), its
    log in `stderr`; stopped with SIGTERM, if it still runs, when the block ends."""
    with (
        stderr.open("w") as log,
        subprocess.Popen(
            [sys.executable, "-m", "app", *command],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], **env},
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        ) as process,
    ):
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
