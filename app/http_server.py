"""Serve an aiohttp application until SIGTERM or SIGINT, with the limits of `http_limits`.

What `aiohttp.web.run_app` does, except that the listening socket's connections go through a
ConnectionGuard (run_app has no place to put one) and keep-alive has our timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import web

from app.http_limits import KEEPALIVE_TIMEOUT, ConnectionGuard, GuardedSite

log = logging.getLogger(__name__)


def guarded_runner(
    app: web.Application,
    guard: ConnectionGuard,
    *,
    handle_signals: bool = False,
    shutdown_timeout: float = 60.0,
    keepalive_timeout: float = KEEPALIVE_TIMEOUT,
) -> web.AppRunner:
    """An AppRunner whose requests are seen by `guard` (which tells idle connections from busy
    ones) and whose idle connections close after KEEPALIVE_TIMEOUT."""
    app.middlewares.insert(0, guard.middleware)
    return web.AppRunner(
        app,
        handle_signals=handle_signals,
        shutdown_timeout=shutdown_timeout,
        access_log=None,
        keepalive_timeout=keepalive_timeout,
    )


def run(
    app: web.Application,
    *,
    host: str,
    port: int,
    guard: ConnectionGuard,
    shutdown_timeout: float,
    on_listening: Callable[[], None] = lambda: None,
) -> None:
    """Serve until a signal; what the application's startup raises is raised here.
    `on_listening` is called once the startup (the database's check) is done and the port taken,
    so that "listening" is never said by a service that is about to refuse to start."""
    loop = asyncio.new_event_loop()
    main = loop.create_task(_serve(app, host, port, guard, shutdown_timeout, on_listening))
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main.done():
                main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _serve(
    app: web.Application,
    host: str,
    port: int,
    guard: ConnectionGuard,
    shutdown_timeout: float,
    on_listening: Callable[[], None],
) -> None:
    runner = guarded_runner(app, guard, handle_signals=True, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await GuardedSite(runner, host, port, guard).start()
        on_listening()
        await asyncio.Event().wait()  # until a signal raises GracefulExit
    finally:
        await runner.cleanup()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {"message": "unhandled exception at shutdown", "exception": task.exception()}
            )
