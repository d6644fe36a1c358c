"""`python -m app serve` (the service and its workers in one process) and `python -m app web`
(webhooks and pages only, with `worker` processes): the HTTP service until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import os
import sys

from app.http_limits import ConnectionGuard, connection_limit, raise_open_files
from app.http_server import run
from app.settings import Settings, SettingsError, load_settings
from app.state.database import DatabaseError
from app.web import create_app


def main(args: argparse.Namespace) -> int:
    return serve("web" if args.command == "web" else "serve")


def load_or_say() -> Settings | None:
    """The settings, or None once the problem is printed."""
    try:
        return load_settings()
    except SettingsError as error:
        print(f"conveyor: cannot start: {error}", file=sys.stderr)
        return None


def serve(role: str) -> int:
    """The HTTP service; `serve` also runs tests (WORKERS of them), `web` only answers."""
    settings = load_or_say()
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
