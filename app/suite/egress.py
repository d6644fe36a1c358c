"""The one way out of the sandbox: an HTTP proxy to the internet, and to nothing of this machine.

Network-on commands (installs; tests with `network = true`) run in a network namespace of their
own with nothing but loopback, so they cannot reach the host's loopback services (Conveyor's own
port, a database), its abstract unix sockets, or anything else of the host's network stack. Their
way out is this proxy: the sandbox shows its unix socket, a forwarder inside
(`egress_forward.py`) listens on 127.0.0.1:3128, and HTTP_PROXY / HTTPS_PROXY point there, which
pip, uv, Poetry, git, curl and npm follow.

The proxy resolves every name itself and connects only to addresses outside loopback,
link-local, private, shared (CGNAT), multicast and reserved ranges, and never to one of this
machine's own addresses: a name that resolves to 127.0.0.1 or to the cloud's metadata service is
refused like the address itself. The operator's package index (`PIP_INDEX_URL`...) is reachable
wherever it is, and the operator's own proxy (`HTTPS_PROXY`...) is used for the rest, as the
service's environment says.

Standard library only. Hand-written rather than a proxy package: the policy is what matters
here, and the HTTP it speaks is two request forms (CONNECT, and an absolute URL for plain http).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

SOCKET = "proxy.sock"  # in the folder the sandbox shows at /conveyor/egress
PORT = 3128  # where the forwarder listens inside the sandbox
PROXY_URL = f"http://127.0.0.1:{PORT}"
# What network-on commands get: their proxy, and their own loopback left alone (with the
# sandbox's own name and its addresses: sandbox.HOSTS).
_OWN = "localhost,127.0.0.1,::1,conveyor,127.0.1.1,fdc0:ffee::1"
PROXY_VARIABLES = {
    name: PROXY_URL for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
} | {name: _OWN for name in ("NO_PROXY", "no_proxy")}

HEAD_LIMIT = 64 * 1024  # a request's line and headers
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 30.0
MAX_CONNECTIONS = 256  # at once, per run
_CHUNK = 65536

# Where a stranger's code has no business: this machine's neighbours and its own services.
_IPV4_REFUSED = {
    "0.0.0.0/8": "not a destination",
    "10.0.0.0/8": "a private network",
    "100.64.0.0/10": "a carrier-grade NAT network",
    "127.0.0.0/8": "this machine's loopback",
    "169.254.0.0/16": "link-local (cloud metadata lives here)",
    "172.16.0.0/12": "a private network",
    "192.168.0.0/16": "a private network",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}
_IPV6_REFUSED = {
    "::/128": "not a destination",
    "::1/128": "this machine's loopback",
    "::/96": "an IPv4-compatible address",
    "2001::/32": "a Teredo tunnel",
    "fc00::/7": "a private network",
    "fe80::/10": "link-local",
    "fec0::/10": "a site-local network",
    "ff00::/8": "multicast",
}
_REFUSED: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = [
    (ipaddress.ip_network(net), why) for net, why in {**_IPV4_REFUSED, **_IPV6_REFUSED}.items()
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def refusal(address: Address) -> str | None:
    """Why a run may not connect to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    for network, why in _REFUSED:
        if address.version == network.version and address in network:
            return why
    if _is_this_machine(address):
        return "an address of this machine"
    return None


def _is_this_machine(address: Address) -> bool:
    """Only an address of one of this machine's interfaces can be bound to."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class EgressPolicy:
    """What a run may reach besides the internet, and how the service itself gets out."""

    # (host, port) reachable wherever they are: the operator's package index.
    allowed: frozenset[tuple[str, int]] = frozenset()
    # The operator's proxies (scheme → URL) and the hosts they are not used for.
    upstream: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, index_settings: Mapping[str, str], environ: Mapping[str, str]
    ) -> EgressPolicy:
        allowed: set[tuple[str, int]] = set()
        for value in index_settings.values():
            for word in value.split():
                parts = urlsplit(word)
                if parts.scheme in ("http", "https") and parts.hostname:
                    default = 443 if parts.scheme == "https" else 80
                    allowed.add((parts.hostname.lower(), parts.port or default))
        upstream: dict[str, str] = {}
        for scheme in ("http", "https", "no"):
            proxy = environ.get(f"{scheme}_proxy") or environ.get(f"{scheme.upper()}_PROXY")
            if proxy:
                upstream[scheme] = proxy
        return cls(frozenset(allowed), upstream)

    def proxy_for(self, scheme: str, host: str) -> str | None:
        """The operator's proxy to reach `host` through, if any."""
        url = self.upstream.get(scheme)
        if not url:
            return None
        no_proxy = self.upstream.get("no", "")
        if no_proxy and _bypassed(host, no_proxy):
            return None
        return url


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY names `host`: `*`, a name or domain suffix (`.corp` or `corp`), an
    address, or an address range."""
    host = host.lower().strip("[]")
    for entry in (part.strip().lower() for part in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name = entry.lstrip(".")
        if name.count(":") == 1:
            name = name.partition(":")[0]  # host:port: the port is not what decides here
        if host == name or host.endswith("." + name):
            return True
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                return True
    return False


class Refused(Exception):
    """The destination is not for runs; the message says which and why, for the run's log."""


class EgressProxy:
    """One run's proxy, on a unix socket in `folder`; `report` gets a line for each refusal.

    Used as an async context manager for the run's lifetime: every connection still open at
    the end is closed with it."""

    def __init__(self, folder: Path, policy: EgressPolicy, report: Callable[[str], None]) -> None:
        self.folder = folder
        self.policy = policy
        self.report = report
        self.reached: dict[str, int] = {}  # host:port → connections, in order of first use
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def socket_path(self) -> Path:
        return self.folder / SOCKET

    async def __aenter__(self) -> EgressProxy:
        self.folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        folder = os.open(self.folder, os.O_PATH | os.O_DIRECTORY)
        try:
            # Through the folder's descriptor: a socket's path may not exceed 107 bytes, and
            # the data folder's can be longer than that.
            listener.bind(f"/proc/self/fd/{folder}/{SOCKET}")
        except OSError:
            listener.close()
            raise
        finally:
            os.close(folder)
        self._server = await asyncio.start_unix_server(
            self._accept, sock=listener, limit=HEAD_LIMIT
        )
        # The job's user connects to it (write permission on a socket is what connect needs).
        os.chmod(self.socket_path, 0o666)  # noqa: S103 - its folder is the service's
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def take_reached(self) -> dict[str, int]:
        """The destinations reached since the last call."""
        reached, self.reached = self.reached, {}
        return reached

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= MAX_CONNECTIONS:
            await _answer(writer, 503, f"more than {MAX_CONNECTIONS} connections at once")
            writer.close()
            return
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        except asyncio.LimitOverrunError:
            await _answer(writer, 431, "request headers too large")
            return
        request = _Request.parse(head)
        if request is None:
            await _answer(writer, 400, "not an HTTP proxy request")
            return
        try:
            upstream_reader, upstream_writer, via = await self._open(request)
        except Refused as refused:
            self.report(f"conveyor: {refused}")
            await _answer(writer, 403, str(refused))
            return
        destination = f"{request.host}:{request.port}"
        self.reached[destination] = self.reached.get(destination, 0) + 1
        try:
            if request.method == "CONNECT":
                if via is not None:
                    status = await _connect_through(upstream_reader, upstream_writer, request, via)
                    if status != 200:
                        await _answer(writer, 502, f"the operator's proxy answered {status}")
                        return
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                upstream_writer.write(request.forwarded_head(via))
                await upstream_writer.drain()
            await _pipe(reader, writer, upstream_reader, upstream_writer)
        finally:
            upstream_writer.close()

    async def _open(
        self, request: _Request
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str | None]:
        """A connection to the destination (or to the operator's proxy for it)."""
        host, port = request.host, request.port
        scheme = "https" if request.method == "CONNECT" else "http"
        via = self.policy.proxy_for(scheme, host)
        allowed = (host.lower(), port) in self.policy.allowed
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            # Unknown here: only the operator's proxy may know the name (and decide).
            if via is None:
                raise Refused(f"cannot resolve {host}") from None
            found = []
        usable: list[str] = []
        refused: list[tuple[str, str]] = []
        for text in dict.fromkeys(str(info[4][0]) for info in found):
            why = None if allowed else refusal(ipaddress.ip_address(text.split("%")[0]))
            if why is None:
                usable.append(text)
            else:
                refused.append((text, why))
        if refused and not usable:
            address, why = refused[0]
            shown = host if host == address else f"{host} ({address})"
            raise Refused(f"a run's network does not reach {shown}:{port}: {why}")
        if via is not None:
            proxy = urlsplit(via)
            targets = [(proxy.hostname or "", proxy.port or 80)]
        else:
            targets = [(address, port) for address in usable]
        problem: BaseException | None = None
        for target in targets:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*target, limit=HEAD_LIMIT), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as error:
                problem = error
                continue
            return reader, writer, via
        raise Refused(f"cannot connect to {host}:{port} ({problem or 'no address'})")


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    host: str
    port: int
    path: str  # origin-form, for plain http
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, head: bytes) -> _Request | None:
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
        except ValueError:
            return None
        if not version.startswith("HTTP/1."):
            return None
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        if method == "CONNECT":
            host, _, number = target.rpartition(":")
            host = host.strip("[]")
            if not host or not number.isdigit():
                return None
            return cls(method, target, host, int(number), "", tuple(headers))
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            return None
        try:
            port = parts.port or 80
        except ValueError:
            return None
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(method, target, parts.hostname, port, path, tuple(headers))

    def forwarded_head(self, via: str | None) -> bytes:
        """The request for the server (origin-form), or for the operator's proxy (as it came),
        on a connection used for this one request."""
        hop = {"connection", "proxy-connection", "keep-alive", "proxy-authorization"}
        lines = [f"{self.method} {self.target if via else self.path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in self.headers if name.lower() not in hop]
        if via is not None and (credentials := _proxy_credentials(via)):
            lines.append(f"Proxy-Authorization: Basic {credentials}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _proxy_credentials(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.username is None:
        return None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return base64.b64encode(pair.encode()).decode()


async def _connect_through(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: _Request, via: str
) -> int:
    lines = [f"CONNECT {request.target} HTTP/1.1", f"Host: {request.target}"]
    if credentials := _proxy_credentials(via):
        lines.append(f"Proxy-Authorization: Basic {credentials}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 502


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reasons = {400: "Bad Request", 403: "Forbidden", 431: "Too Large", 502: "Bad Gateway"}
    body = (message + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {reasons.get(status, 'Unavailable')}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(OSError):
        await writer.drain()


async def _pipe(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    server_reader: asyncio.StreamReader,
    server_writer: asyncio.StreamWriter,
) -> None:
    """Both directions until the server is done (a closed tunnel, or the end of a response)."""

    async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(_CHUNK):
                sink.write(data)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()

    upward = asyncio.ensure_future(copy(client_reader, server_writer))
    try:
        await copy(server_reader, client_writer)
    finally:
        upward.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upward


def describe_reached(reached: Mapping[str, int]) -> str:
    """`pypi.org:443 (3), files.pythonhosted.org:443 (12)` for the run's log."""
    return ", ".join(f"{where} ({count})" for where, count in reached.items())


__all__ = [
    "PROXY_VARIABLES",
    "EgressPolicy",
    "EgressProxy",
    "Refused",
    "describe_reached",
    "refusal",
]
