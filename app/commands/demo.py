"""`python -m app demo`: Conveyor against the built-in local GitHub, with a real check run.

Everything is real but GitHub: the service is the one `python -m app` runs, the repository is a
git repository served over HTTP, the tests are run by pytest. The local GitHub plays GitHub's part:
it signs the webhooks, issues the tokens and keeps the check runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

from app.localgithub import CheckRun, GitHubApp, LocalGitHub
from app.report.model import ICONS
from app.report.plain_markdown import plain_text
from app.settings import Settings
from app.web import create_app

SAMPLE_FILES = {
    "calculator.py": '''"""A tiny calculator with a bug in it."""


def add(a: int, b: int) -> int:
    return a + b


def mean(values: list[float]) -> float:
    return sum(values) / len(values)
''',
    "test_calculator.py": """from calculator import add, mean


def test_add() -> None:
    assert add(2, 3) == 5


def test_mean() -> None:
    assert mean([1, 2, 3, 4]) == 2.5
""",
}

# The pull request "improves" mean() and breaks it: the check run must show the failing line.
PULL_REQUEST_CHANGE = {
    "calculator.py": SAMPLE_FILES["calculator.py"].replace(
        "return sum(values) / len(values)", "return sum(values) // len(values)"
    ),
}


def main(args: argparse.Namespace) -> int:
    return run_demo(port=args.port, keep_serving=not args.no_serve)


def run_demo(*, port: int, keep_serving: bool) -> int:
    try:
        return asyncio.run(_demo(port, keep_serving))
    except KeyboardInterrupt:
        return 0


async def _demo(port: int, keep_serving: bool) -> int:
    # The walk-through tells the story; the service's own log would interleave with it.
    logging.getLogger("app").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="conveyor-demo-") as tmp:
        root = Path(tmp)
        github = LocalGitHub(root / "github")
        github_url = await github.start()
        secret = secrets.token_hex(20)
        service_url = f"http://127.0.0.1:{port}"
        app = github.register_app(
            name="Conveyor", webhook_url=f"{service_url}/webhook", webhook_secret=secret
        )
        settings = Settings(
            app_id=str(app.id),
            private_key=app.private_key_pem,
            webhook_secret=secret,
            api_url=github_url,
            port=port,
            host="127.0.0.1",
            data_dir=root / "conveyor",
            public_url=service_url,
            workers=1,
            # As an operator should: the demo's organisation alone (and no warning about it).
            allowed_owners=frozenset({"octo-org"}),
        )
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, "127.0.0.1", port).start()
            except OSError as error:
                # The service started with the runner: it stops with it, as after the demo.
                print(
                    f"conveyor demo: cannot listen on port {port}: {error.strerror}; try --port",
                    file=sys.stderr,
                )
                return 2
            return await _walk_through(github, app, root, service_url, keep_serving)
        finally:
            await runner.cleanup()
            await github.stop()


async def _walk_through(
    github: LocalGitHub, app: GitHubApp, root: Path, service_url: str, keep_serving: bool
) -> int:
    step("Installing the app on the organisation octo-org")
    installation = await github.install(app, account="octo-org")
    # Public, as an open-source project's: its history and badge are for anyone to see.
    repo = await github.create_repository(
        "octo-org", "calculator", installation_id=installation, private=False
    )
    work = root / "work"
    _git_init(work)
    _commit(work, SAMPLE_FILES, "A calculator with tests")
    step("Pushing main: two passing tests")
    main_sha = await github.push(repo, work, "main")
    await _wait_for_verdict(github, main_sha)
    _git(work, "checkout", "-q", "-b", "faster-mean")
    _commit(work, PULL_REQUEST_CHANGE, "Use integer division in mean()")
    await github.push(repo, work, "faster-mean")
    step("Opening a pull request that breaks mean()")
    pr = await github.open_pull_request(
        repo, head="faster-mean", base="main", title="Faster mean()"
    )
    run = await _wait_for_verdict(github, pr.head_sha)
    print()
    print(_as_text(run))
    print()
    print(f"  Pull request on the local GitHub:  {github.url}/{repo.full_name}/pull/{pr.number}")
    print(f"  Conveyor's page for this run:      {run.details_url}")
    print(f"  The repository's runs:             {service_url}/{repo.full_name}")
    print(
        f"  Its badge for main:                {service_url}/{repo.full_name}/badge.svg?branch=main"
    )
    print(f"  This Conveyor:                     {service_url}/")
    print(f"  Conveyor's health:                 {service_url}/healthz")
    if not keep_serving:
        return 0
    print("\nServing until you press Ctrl-C.", flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()
    return 0


async def _wait_for_verdict(github: LocalGitHub, sha: str, timeout: float = 120) -> CheckRun:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        for run in github.check_runs(head_sha=sha):
            if run.status not in seen:
                seen.add(run.status)
                print(f"    check run {run.name!r} on {sha[:7]}: {run.status}", flush=True)
            if run.status == "completed":
                return run
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no verdict for {sha} after {timeout:.0f}s")


def _as_text(run: CheckRun) -> str:
    """The check run as a person reads it on GitHub, in a terminal: the summary's Markdown as
    text, and each annotation on a line."""
    verdict = run.conclusion or run.status
    lines = [f"{ICONS.get(verdict, '?')} {run.name}: {verdict} — {run.output.title or ''}", ""]
    lines += [
        "  " + line if line else "" for line in plain_text(run.output.summary or "").splitlines()
    ]
    if run.annotations:
        lines += ["", f"  Annotations ({len(run.annotations)}):"]
        for note in run.annotations:
            first = note.message.strip().splitlines()[0] if note.message.strip() else ""
            lines.append(f"    {note.path}:{note.start_line}  {first}")
    return "\n".join(lines)


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def _git(work: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True)


def _git_init(work: Path) -> None:
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "config", "user.name", "Octo Cat")
    _git(work, "config", "user.email", "octocat@example.com")


def _commit(work: Path, files: dict[str, str], message: str) -> None:
    for name, content in files.items():
        (work / name).write_text(content)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", message)
