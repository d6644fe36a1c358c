"""The real service process against the local GitHub, and a git work tree to push from."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import aiohttp

from app.localgithub import CheckRun, GitHubApp, LocalGitHub, PullRequest, Repository

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """`python -m app [COMMAND]` as an operator runs it, configured through its environment."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        command: str = "serve",
        prefix: Sequence[str] = (),
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.command = command
        # Runs the service, e.g. `prlimit --nofile=...`: it must exec it (the pid stays its).
        self.prefix = list(prefix)
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 20.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; we poll it
            [*self.prefix, sys.executable, "-m", "app", self.command],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        if self.command == "worker":
            # A worker serves nothing: it is ready when it says so.
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"worker exited at start:\n{self.log()}")
                if "Conveyor worker running" in self.log():
                    return
                await asyncio.sleep(0.05)
            raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log()}")
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"service exited at start:\n{self.log()}")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"service not ready after {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """kill -9: no chance to clean up, as when a machine dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Harness:
    """One organisation with the app installed, one repository, and the service watching it."""

    def __init__(
        self,
        github: LocalGitHub,
        tmp: Path,
        database_url: str | None = None,
        *,
        caches: Path | None = None,
    ) -> None:
        self.github = github
        self.tmp = tmp
        self.database_url = database_url  # None: SQLite in the data folder
        # The session's environments and downloads, shared by the data folders (see share_caches);
        # None: they start empty, as on a new machine.
        self.caches = caches
        self.workers: list[ServiceProcess] = []
        self.port = free_port()
        self.secret = "e2e-webhook-secret"
        self.app: GitHubApp
        self.repo: Repository
        self.installation_id: int
        self.service: ServiceProcess
        self.work = tmp / "work"

    @property
    def github_url(self) -> str:
        assert self.github.url is not None, "the local GitHub is not started"
        return self.github.url

    async def setup(
        self,
        *,
        workers: int = 2,
        extra_env: dict[str, str] | None = None,
        command: str = "serve",
    ) -> None:
        self.app = self.github.register_app(
            name="conveyor",
            webhook_url=f"http://127.0.0.1:{self.port}/webhook",
            webhook_secret=self.secret,
        )
        self.installation_id = await self.github.install(self.app, account="octo-org")
        self.repo = await self.github.create_repository(
            "octo-org", "sample", installation_id=self.installation_id
        )
        env: dict[str, str] = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.tmp),
            "GITHUB_APP_ID": str(self.app.id),
            "GITHUB_PRIVATE_KEY": self.app.private_key_pem,
            "GITHUB_WEBHOOK_SECRET": self.secret,
            "GITHUB_API_URL": self.github_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(self.tmp / "data"),
            "PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "WORKERS": str(workers),
            # Small enough that the memory and fork-bomb tests hit them quickly.
            "JOB_MEMORY_MB": "1024",
            "JOB_PROCESSES": "256",
            "JOB_DISK_MB": "300",
            # Tests that wait for a sweep (a verdict redelivered, a dead process's run taken
            # over, `until_swept`) wait seconds, not tens of them.
            "SWEEP_INTERVAL": "2",
        }
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(extra_env or {})
        self.env = env
        self.share_caches(self.tmp / "data")
        self.service = ServiceProcess(env, self.tmp / "service.log", command)
        await self.service.start()
        git(self.tmp, "init", "-q", "-b", "main", str(self.work))
        git(self.work, "config", "user.name", "Octo Cat")
        git(self.work, "config", "user.email", "octocat@example.com")

    async def add_worker(
        self, *, workers: int = 1, data_dir: Path | None = None, **env: str
    ) -> ServiceProcess:
        """Another process, `python -m app worker`, sharing the queue; with PostgreSQL it gets
        a data folder of its own, as on another machine."""
        n = len(self.workers) + 1
        if data_dir is None:
            data_dir = self.tmp / f"worker-{n}" if self.database_url else self.tmp / "data"
        self.share_caches(data_dir)
        worker = ServiceProcess(
            {**self.env, "WORKERS": str(workers), "DATA_DIR": str(data_dir), **env},
            self.tmp / f"worker-{n}.log",
            "worker",
        )
        await worker.start()
        self.workers.append(worker)
        return worker

    def share_caches(self, data_dir: Path) -> None:
        """The data folder's installed environments and download cache are the session's
        (links to `caches`), so a check already built by an earlier test is reused, not built
        again. Both are keyed by content (the environment by its interpreter, commands and
        dependency files; downloads by repository), as the service keys them for its own runs,
        so sharing changes what is built, never what a run sees."""
        if self.caches is None:
            return
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in ("environments", "downloads"):
            shared = self.caches / name
            shared.mkdir(parents=True, exist_ok=True)
            link = data_dir / name
            if not link.is_symlink():
                link.symlink_to(shared, target_is_directory=True)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.service.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {process.log_path.name} ---\n{process.log()}"
            for process in (self.service, *self.workers)
        )

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        return git(self.work, "rev-parse", "HEAD")

    def branch(self, name: str) -> None:
        git(self.work, "checkout", "-q", "-B", name)

    async def push(self, branch: str) -> str:
        return await self.github.push(self.repo, self.work, branch)

    async def pull_request(self, head: str) -> PullRequest:
        return await self.github.open_pull_request(self.repo, head=head, base="main")

    def runs(self, sha: str) -> list[CheckRun]:
        return self.github.check_runs(head_sha=sha)

    async def wait_for(
        self, sha: str, until: Callable[[list[CheckRun]], bool], timeout: float = 60.0
    ) -> list[CheckRun]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(sha)
            if until(runs):
                return runs
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"timed out waiting for the check runs of {sha[:10]}: "
            f"{[(r.id, r.status, r.conclusion) for r in self.runs(sha)]}\n"
            f"--- logs ---\n{self.logs()[-8000:]}"
        )

    async def completed(self, sha: str, count: int = 1, timeout: float = 60.0) -> list[CheckRun]:
        return await self.wait_for(
            sha,
            lambda runs: sum(r.status == "completed" for r in runs) >= count,
            timeout,
        )


AnyHarness = TypeVar("AnyHarness", bound=Harness)


@contextlib.asynccontextmanager
async def watched(
    world: AnyHarness, command: str = "serve", extra_env: dict[str, str] | None = None
) -> AsyncIterator[AnyHarness]:
    """The harness set up and, afterwards, stopped; then GitHub must have refused nothing the
    service sent (faults a test injected aside)."""
    await world.setup(command=command, extra_env=extra_env)
    try:
        yield world
    finally:
        world.stop()
    refused = [
        (c.method, c.path, c.status, c.response_json)
        for c in world.github.refused()
        if not c.fault_injected
    ]
    assert refused == [], f"the local GitHub refused calls:\n{refused}\n{world.logs()}"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


PASSING = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
FAILING = {
    "test_calc.py": (
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_add_negative():\n    assert add(-2, -3) == -6\n"
    ),
}
SLOW = {"test_slow.py": "import time\n\n\ndef test_slow():\n    time.sleep(60)\n"}
# A test that says it started (a file in its workspace) and waits until the test driving the
# service lets it go on (another file there): the run is in progress for as long as needed, and
# no longer (see `held` and `release`).
HELD = {
    "test_held.py": (
        "import pathlib\nimport time\n\n\n"
        "def test_held():\n"
        "    here = pathlib.Path.cwd()\n"
        "    (here / 'started').write_text('')\n"
        "    deadline = time.monotonic() + 120\n"
        "    while not (here / 'release').exists():\n"
        "        assert time.monotonic() < deadline, 'never released'\n"
        "        time.sleep(0.05)\n"
    ),
}


async def held(data_dir: Path, timeout: float = 120.0) -> Path:
    """The workspace of the run whose HELD test has started; fail after the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(data_dir.glob("workspaces/*/started"))
        if found:
            return found[0].parent
        await asyncio.sleep(0.05)
    raise AssertionError("the held test never started")


def release(workspace: Path) -> None:
    """Let the HELD test in `workspace` end (it passes)."""
    (workspace / "release").write_text("")
