"""`python -m app worker`: run tests from the shared queue (DATABASE_URL), serve nothing but
metrics (METRICS_PORT), until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import sys

from aiohttp import web

from app.commands.serve import load_or_say
from app.http_limits import ConnectionGuard, GuardedSite, connection_limit, raise_open_files
from app.http_server import guarded_runner
from app.service import Service
from app.settings import Settings, SettingsError
from app.state.database import DatabaseError
from app.web import create_metrics_app


def main(args: argparse.Namespace) -> int:
    return work()


def work() -> int:
    """Run tests from the shared queue, and nothing else, until SIGTERM or SIGINT."""
    settings = load_or_say()
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
