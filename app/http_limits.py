"""What keeps the HTTP server standing under idle, slow and numerous connections.

Every connection holds an open file. At the usual default of 1,024 open files, a thousand idle
connections left the server unable to accept (`EMFILE`): the next delivery from GitHub was lost
and asyncio logged a traceback for each failed accept. Three things prevent that:

- **Open files.** The soft limit is raised to the hard limit at start (`raise_open_files`).
- **Connections.** At most `connection_limit(open files)` at once: half the open files, so that
  the database, GitHub, the runs and their egress proxy keep the other half, and at most
  MAX_CONNECTIONS. A connection made beyond that closes the least recently active *idle* ones
  (no request being handled: a keep-alive connection between requests, or one still sending
  its headers) to make room, a tenth of the limit at a time; only when every connection is
  busy is the new one answered 503 and closed. Evicting the oldest idle connection, rather than
  refusing the newest, is what lets a delivery through a flood of idle connections: whoever
  holds connections open without using them loses them to whoever uses them.
- **Time.** An idle connection, and a request's line and headers, get KEEPALIVE_TIMEOUT
  (aiohttp's keep-alive timer runs from the connection's start, or the end of the previous
  answer, until the next request's headers are complete); a webhook's body has its own
  deadline (web.BODY_TIMEOUT).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

# More would cost memory (tens of kB each) for no use: GitHub opens a connection per delivery,
# and people read run pages a few at a time.
MAX_CONNECTIONS = 4096
# The connections' share of the open files: the rest is for the database, calls to GitHub, the
# runs' pipes and their egress proxy.
CONNECTION_SHARE = 0.5
MIN_CONNECTIONS = 16
# Idle keep-alive, and a request's line and headers, must come within this. GitHub sends a
# delivery's headers at once; a browser polling a run's log sends a request every second.
KEEPALIVE_TIMEOUT = 15.0
# How often the evictions and refusals are logged, summed (each one is not news).
REPORT_EVERY = 10.0


def raise_open_files() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit; return (soft, hard) as they are
    now. Never fails: a limit that cannot be raised is kept, and the connection limit follows
    from whatever it is."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:  # e.g. RLIM_INFINITY where the kernel caps it
            log.warning("open files: cannot raise the limit from %d to %d: %s", soft, hard, error)
    return soft, hard


def connection_limit(open_files: int) -> int:
    if open_files == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, int(open_files * CONNECTION_SHARE)))


# What every connection past the limit gets when no idle one can make room.
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections; retry\r\n"
)


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(BUSY)
        transport.close()


class ConnectionGuard:
    """Counts the server's connections as each new one is made, and makes room (see above)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.evicted = 0
        self.refused = 0
        # Connections handling a request, and when each connection last finished one (or was
        # made): the order in which idle ones are closed.
        self._busy: dict[RequestHandler, int] = {}
        self._active_at: dict[RequestHandler, float] = {}
        # When the last report was written, and the counts it gave; the first is written at
        # once.
        self._reported = (time.monotonic(), 0, 0)
        self._quiet = True

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        protocol = request.protocol
        self._busy[protocol] = self._busy.get(protocol, 0) + 1
        try:
            return await handler(request)
        finally:
            left = self._busy.pop(protocol) - 1
            if left:
                self._busy[protocol] = left
            self._active_at[protocol] = time.monotonic()

    def factory(self, server: web.Server) -> Callable[[], asyncio.Protocol]:
        """The protocol factory for `loop.create_server`: asyncio calls it once per accepted
        connection, before the connection is handed to it."""

        def make() -> asyncio.Protocol:
            live = [h for h in server.connections if h.transport is not None]
            if len(self._active_at) > 2 * self.limit:
                self._forget_gone(live)
            if len(live) >= self.limit:
                live = self._make_room(live)
            if len(live) >= self.limit:
                self.refused += 1
                self._report()
                return _Refused()
            handler = server()
            self._active_at[handler] = time.monotonic()
            return handler

        return make

    def _forget_gone(self, live: list[RequestHandler]) -> None:
        # The server forgets closed connections; these tables must too (RequestHandler takes
        # no weak references).
        alive = set(live)
        self._active_at = {h: t for h, t in self._active_at.items() if h in alive}

    def _make_room(self, live: list[RequestHandler]) -> list[RequestHandler]:
        self._forget_gone(live)
        idle = sorted(
            (h for h in live if h not in self._busy), key=lambda h: self._active_at.get(h, 0.0)
        )
        # A tenth at once: a flood of new connections then costs one sort per tenth, not each.
        count = min(len(idle), len(live) - self.limit + max(1, self.limit // 10))
        for handler in idle[:count]:
            handler.force_close()
            self._active_at.pop(handler, None)
        self.evicted += count
        self._report()
        closed = set(idle[:count])
        return [h for h in live if h not in closed]

    def _report(self) -> None:
        since, evicted, refused = self._reported
        now = time.monotonic()
        if now - since < REPORT_EVERY and not self._quiet:
            return
        self._reported = (now, self.evicted, self.refused)
        self._quiet = False
        log.warning(
            "HTTP: %d connections at once (the limit): closed %d idle ones and refused %d new "
            "ones in %.0fs",
            self.limit,
            self.evicted - evicted,
            self.refused - refused,
            now - since,
        )


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner, backlog=128)
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )
