"""app/http_server.py: a real application served on a loopback port until SIGTERM or SIGINT.

`run` blocks the thread that calls it and handles signals, as `python -m app` does: each test
calls it on the main thread, and a helper thread makes the requests and then sends the signal.
What the connection guard itself does is tested in tests/test_http_limits.py.
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from app.http_limits import ConnectionGuard
from app.http_server import run

HOST = "127.0.0.1"
TASKS = web.AppKey("tasks", list[asyncio.Task[None]])


@pytest.fixture(autouse=True)
def no_event_loop_left() -> Iterator[None]:
    """`run` leaves its closed loop as the thread's current one; the next test must not get it."""
    yield
    asyncio.set_event_loop(None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@dataclass
class Visit:
    """Once the service says it listens: GET `path` from another thread, then send `signum`."""

    port: int
    path: str = "/"
    signum: signal.Signals = signal.SIGTERM
    answers: list[tuple[int, str]] = field(default_factory=list)
    listening: int = 0
    thread: threading.Thread | None = None

    def on_listening(self) -> None:
        self.listening += 1
        self.thread = threading.Thread(target=self._visit)
        self.thread.start()

    def _visit(self) -> None:
        try:
            self.answers.append(get(self.port, self.path))
        finally:
            os.kill(os.getpid(), self.signum)

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(timeout=30)


def serve(app: web.Application, port: int, on_listening: Callable[[], None]) -> None:
    run(
        app,
        host=HOST,
        port=port,
        guard=ConnectionGuard(16),
        shutdown_timeout=1.0,
        on_listening=on_listening,
    )


def hello_app(events: list[str]) -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def started(app: web.Application) -> None:
        events.append("started")

    async def cleaned_up(app: web.Application) -> None:
        events.append("cleaned up")

    app = web.Application()
    app.router.add_get("/", hello)
    app.on_startup.append(started)
    app.on_cleanup.append(cleaned_up)
    return app


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_it_answers_once_listening_and_stops_cleanly_on_a_signal(signum: signal.Signals) -> None:
    events: list[str] = []
    visit = Visit(free_port(), signum=signum)
    serve(hello_app(events), visit.port, visit.on_listening)
    visit.join()
    assert visit.answers == [(200, "hello")]
    assert visit.listening == 1
    assert events == ["started", "cleaned up"]
    # The port is given back.
    with socket.socket() as again:
        again.bind((HOST, visit.port))


def test_a_failing_startup_is_raised_and_listening_never_said() -> None:
    class NoDatabase(Exception):
        pass

    async def refuse(app: web.Application) -> None:
        raise NoDatabase("cannot connect to DATABASE_URL")

    app = web.Application()
    app.on_startup.append(refuse)
    said: list[str] = []
    port = free_port()
    with pytest.raises(NoDatabase, match="cannot connect"):
        serve(app, port, lambda: said.append("listening"))
    assert said == []
    with socket.socket() as again:
        again.bind((HOST, port))


def test_a_taken_port_is_raised_after_the_application_is_cleaned_up() -> None:
    events: list[str] = []
    said: list[str] = []
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        with pytest.raises(OSError, match=r"(?i)address already in use") as raised:
            serve(hello_app(events), taken.getsockname()[1], lambda: said.append("listening"))
    assert raised.value.errno == errno.EADDRINUSE
    assert said == []
    assert events == ["started", "cleaned up"]


def test_tasks_still_running_at_the_stop_are_cancelled_and_their_errors_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request may leave work behind (a webhook's background processing): the stop cancels
    it, and what fails while cancelled is logged, not lost."""
    ends: list[str] = []

    async def patient() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ends.append("patient cancelled")

    async def clumsy() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            ends.append("clumsy cancelled")
            raise RuntimeError("broke while stopping") from None

    async def start_work(request: web.Request) -> web.Response:
        tasks = request.app[TASKS]
        tasks.append(asyncio.create_task(patient()))
        tasks.append(asyncio.create_task(clumsy()))
        await asyncio.sleep(0)  # both are waiting before the answer goes out
        return web.Response(text="started")

    app = web.Application()
    app[TASKS] = []
    app.router.add_get("/work", start_work)
    visit = Visit(free_port(), path="/work")
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        serve(app, visit.port, visit.on_listening)
    visit.join()
    assert visit.answers == [(200, "started")]
    assert sorted(ends) == ["clumsy cancelled", "patient cancelled"]
    [logged] = [r for r in caplog.records if r.getMessage() == "unhandled exception at shutdown"]
    assert logged.exc_info is not None
    assert str(logged.exc_info[1]) == "broke while stopping"
