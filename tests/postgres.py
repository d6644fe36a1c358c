"""A throwaway PostgreSQL server for the tests: initdb once, one server, a database per test.

The server runs with durability switched off (fsync, synchronous commit, full-page writes): its
data dies with the test session, so waiting for the disk would only slow the tests down.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

NOT_INSTALLED = (
    "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin with initdb and pg_ctl. "
    "`.ci/run` installs it (Debian package `postgresql`); by hand: apt-get install -y postgresql"
)

# initdb refuses to run as root, so as root the server runs as this unprivileged system user.
SYSTEM_USER = "conveyor-pg"
# The database superuser the tests connect as; with trust auth on 127.0.0.1 it needs no password.
SUPERUSER = "conveyor"

_START_ATTEMPTS = 5
_TIMEOUT_S = 30

# Waits for EOF on stdin, which comes when the test session is gone however it ended (even
# SIGKILL, where atexit does not run); then stops the server and removes its folder.
_REAPER = (
    "import shutil, subprocess, sys\n"
    "sys.stdin.buffer.read()\n"
    "subprocess.run(sys.argv[2:], cwd=sys.argv[1], capture_output=True, check=False)\n"
    "shutil.rmtree(sys.argv[1], ignore_errors=True)\n"
)


class PostgresNotInstalled(RuntimeError):
    pass


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for bin_dir in Path("/usr/lib/postgresql").glob("*/bin"):
        version = bin_dir.parent.name
        # Numeric sort, or "9.6" would beat "15".
        if not re.fullmatch(r"\d+(\.\d+)*", version):
            continue
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            found.append((tuple(int(part) for part in version.split(".")), bin_dir))
    return max(found)[1] if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return
    # Another test session (or an xdist worker) may have created it in the meantime.
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(
            f"useradd {SYSTEM_USER} failed ({result.returncode}): {result.stderr.strip()}"
        ) from None


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(no log at {path}: {e})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    run_as: str | None  # None: the current user
    running: bool = field(default=False)
    owner_pid: int = field(default=0)
    reaper: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @classmethod
    def start(cls, root: Path, bin_dir: Path | None = None) -> PostgresServer:
        """initdb a cluster under `root` and start it on a free port of 127.0.0.1."""
        bin_dir = bin_dir or find_bin_dir()
        if bin_dir is None:
            raise PostgresNotInstalled(NOT_INSTALLED)
        run_as = None
        if os.geteuid() == 0:
            _ensure_system_user()
            user = pwd.getpwnam(SYSTEM_USER)
            os.chown(root, user.pw_uid, user.pw_gid)
            root.chmod(0o755)
            run_as = SYSTEM_USER
        server = cls(bin_dir=bin_dir, root=root, port=0, run_as=run_as)
        server._initdb()
        server._start()
        return server

    def _cmd(self, tool: str, *args: str) -> list[str]:
        argv = [str(self.bin_dir / tool), *args]
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # cwd=root: the server user may not be allowed into the caller's working directory.
        return subprocess.run(
            self._cmd(tool, *args),
            cwd=self.root,
            capture_output=True,
            text=True,
            check=check,
            timeout=_TIMEOUT_S + 10,
        )

    def _initdb(self) -> None:
        try:
            self._run(
                "initdb",
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "-E", "UTF8",
                # The machine's LANG may name a locale that is not generated; C is always there.
                "--no-locale",
            )  # fmt: skip
        except subprocess.CalledProcessError as e:
            hint = ""
            if self.run_as and "Permission denied" in e.stderr:
                hint = f" ({self.root} and its parents must be traversable by {self.run_as})"
            raise RuntimeError(f"initdb failed{hint}: {e.stderr.strip()}") from e

    def _start(self) -> None:
        for _attempt in range(_START_ATTEMPTS):
            self.port = _free_port()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-p {self.port}",
                    # /var/run/postgresql belongs to the packaged server; the socket goes here.
                    f"-k {self.root}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    # Tests start several service processes, each with a small pool.
                    "-c max_connections=200",
                ]
            )
            result = self._run(
                "pg_ctl",
                "-D", str(self.data_dir),
                "-l", str(self.log_path),
                "-o", options,
                "-w", "-t", str(_TIMEOUT_S),
                "start",
                check=False,
            )  # fmt: skip
            if result.returncode == 0:
                self.running = True
                self.owner_pid = os.getpid()
                atexit.register(self.stop)
                self._start_reaper()
                return
            with self.log_path.open("rb") as log:
                log.seek(log_offset)
                this_attempt = log.read().decode(errors="replace")
            # The port was free when picked but another process may have bound it before postgres.
            if "Address already in use" not in this_attempt:
                break
        raise RuntimeError(
            f"PostgreSQL did not start (pg_ctl exit {result.returncode}): "
            f"{result.stderr.strip()}\n--- {self.log_path} ---\n{_tail(self.log_path)}"
        )

    def _start_reaper(self) -> None:
        stop = self._cmd("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        self.reaper = subprocess.Popen(
            [sys.executable, "-c", _REAPER, str(self.root), *stop],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Out of the session's process group: a Ctrl-C must leave it waiting for the EOF.
            start_new_session=True,
        )

    def stop(self) -> None:
        """Stop the server; a no-op when it is not running. Never raises: it also runs at exit."""
        # A forked child inherits the atexit hook; only the starting process may stop the server.
        if not self.running or os.getpid() != self.owner_pid:
            return
        self.running = False
        atexit.unregister(self.stop)
        if self.reaper is not None:
            self.reaper.kill()
            self.reaper.wait()
            # Our end of the pipe whose EOF it waited for (the kill already made it moot).
            if self.reaper.stdin is not None:
                self.reaper.stdin.close()
        if not (self.data_dir / "postmaster.pid").exists():
            return
        # fast: disconnects clients (a leaked connection must not hang the session) and checkpoints
        # quickly with fsync off; immediate is the fallback if that still times out.
        for mode in ("fast", "immediate"):
            try:
                result = self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "10", "stop",
                    check=False,
                )  # fmt: skip
            except (OSError, subprocess.TimeoutExpired):
                continue
            if result.returncode == 0 or not (self.data_dir / "postmaster.pid").exists():
                return

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        # FORCE (PostgreSQL 13+) terminates connections a test left open instead of failing.
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
