"""`python -m app [serve|web|worker|demo|check|protect]`: the command line. Each command returns
an exit code."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import log_throttle
from app.database import DatabaseError
from app.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from aiohttp import web

    from app.service import Service


def _settings() -> Settings | None:
    try:
        return load_settings()
    except SettingsError as error:
        print(f"conveyor: cannot start: {error}", file=sys.stderr)
        return None


def serve(role: str = "serve") -> int:
    """The HTTP service; `serve` also runs tests (WORKERS of them), `web` only answers."""
    from app.http_limits import ConnectionGuard, connection_limit, raise_open_files
    from app.http_server import run
    from app.web import create_app

    settings = _settings()
    if settings is None:
        return 2
    open_files, _ = raise_open_files()
    guard = ConnectionGuard(connection_limit(open_files))
    app = create_app(settings, role=role, workers=settings.workers if role == "serve" else 0)

    def announce() -> None:
        print(
            f"Conveyor {role} listening on http://{settings.host}:{settings.port} "
            f"(GitHub API {settings.api_url}, public URL {settings.public_url}; "
            f"{guard.limit} connections at most, {open_files} open files)",
            flush=True,
        )

    try:
        # In-flight webhooks take milliseconds; running jobs are taken back after a restart.
        run(
            app,
            host=settings.host,
            port=settings.port,
            guard=guard,
            shutdown_timeout=5.0,
            on_listening=announce,
        )
    except DatabaseError as error:
        print(f"conveyor: cannot start: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the port: taken, or not ours to use
        print(
            f"conveyor: cannot start: cannot listen on {settings.host}:{settings.port}: "
            f"{os.strerror(error.errno) if error.errno else error}",
            file=sys.stderr,
        )
        return 2
    return 0


def work() -> int:
    """Run tests from the shared queue, and nothing else, until SIGTERM or SIGINT."""
    from app.http_limits import raise_open_files
    from app.service import Service

    settings = _settings()
    if settings is None:
        return 2
    raise_open_files()

    async def until_stopped() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        service = await Service.start(settings, role="worker", workers=settings.workers)
        print(f"Conveyor worker running {settings.workers} jobs at a time", flush=True)
        metrics = None
        try:
            if settings.metrics_port is not None:
                metrics = await _serve_metrics(service, settings)
            await stopping.wait()
        finally:
            if metrics is not None:
                await metrics.cleanup()
            await service.stop()

    try:
        asyncio.run(until_stopped())
    except (DatabaseError, SettingsError) as error:
        print(f"conveyor: cannot start: {error}", file=sys.stderr)
        return 2
    return 0


async def _serve_metrics(service: Service, settings: Settings) -> web.AppRunner:
    import resource

    from app.http_limits import ConnectionGuard, GuardedSite, connection_limit
    from app.http_server import guarded_runner
    from app.web import create_metrics_app

    assert settings.metrics_port is not None
    # A scraper's handful of connections; idle ones must not take the worker's open files.
    open_files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    guard = ConnectionGuard(min(64, connection_limit(open_files)))
    runner = guarded_runner(create_metrics_app(service), guard)
    await runner.setup()
    try:
        await GuardedSite(runner, settings.host, settings.metrics_port, guard).start()
    except OSError as error:
        await runner.cleanup()
        raise SettingsError(
            f"METRICS_PORT: cannot listen on {settings.host}:{settings.metrics_port}: "
            f"{os.strerror(error.errno) if error.errno else error}"
        ) from None
    print(
        f"Conveyor worker metrics on http://{settings.host}:{settings.metrics_port}/metrics",
        flush=True,
    )
    return runner


def demo(port: int, keep_serving: bool) -> int:
    from app.demo import run_demo

    return run_demo(port=port, keep_serving=keep_serving)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app", description="Conveyor: continuous integration as a GitHub App."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser(
        "serve",
        help="run the service and its workers in one process (the default); settings from "
        "the environment",
    )
    commands.add_parser(
        "web", help="answer webhooks and serve pages, run no tests (with `worker` processes)"
    )
    commands.add_parser(
        "worker", help="run tests from the shared queue (DATABASE_URL), serve nothing"
    )
    demo_parser = commands.add_parser(
        "demo", help="run the service against a built-in local GitHub and show a real check run"
    )
    demo_parser.add_argument("--port", type=int, default=8000, help="the service's port")
    demo_parser.add_argument(
        "--no-serve", action="store_true", help="exit after printing the check run"
    )
    check_parser = commands.add_parser(
        "check", help="run a local checkout's checks as the service would, and print them"
    )
    check_parser.add_argument("path", nargs="?", default=".", help="the project (default: .)")
    check_parser.add_argument(
        "-v", "--verbose", action="store_true", help="print the end of the log of passing checks"
    )
    protect_parser = commands.add_parser(
        "protect",
        help="make a branch require Conveyor's checks (branch protection), or say how",
    )
    protect_parser.add_argument("repository", metavar="OWNER/REPO", help="the repository")
    protect_parser.add_argument(
        "--branch", help="the branch to protect (default: the repository's default branch)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    log_throttle.install()
    if args.command == "demo":
        return demo(args.port, keep_serving=not args.no_serve)
    if args.command == "check":
        from app.check import run_check_command

        return run_check_command(Path(args.path), verbose=args.verbose)
    if args.command == "protect":
        from app.protect import run_protect_command

        return run_protect_command(args.repository, args.branch)
    if args.command == "worker":
        return work()
    return serve("web" if args.command == "web" else "serve")


if __name__ == "__main__":
    sys.exit(main())
