"""app/suite/egress.py: what a run's network reaches, through a real proxy on a real socket.

(The sandbox's side, the namespace and the forwarder: tests/suite/sandbox/.)
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from app.suite.egress import EgressPolicy, EgressProxy, describe_reached, refusal

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "this machine's loopback"),
        ("127.255.0.9", "this machine's loopback"),
        ("10.0.0.1", "a private network"),
        ("172.16.5.4", "a private network"),
        ("192.168.1.1", "a private network"),
        ("169.254.169.254", "link-local (cloud metadata lives here)"),
        ("100.64.0.1", "a carrier-grade NAT network"),
        ("0.0.0.0", "not a destination"),  # noqa: S104 - an address, not a bind
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::1", "this machine's loopback"),
        ("::", "not a destination"),
        ("fe80::1", "link-local"),
        ("fd00::1", "a private network"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "a private network"),  # IPv4-mapped
        ("::ffff:127.0.0.1", "this machine's loopback"),
        ("64:ff9b::a00:1", "a private network"),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", "a private network"),  # 6to4 of 10.0.0.1
        ("2002:7f00:1::", "this machine's loopback"),  # 6to4 of 127.0.0.1
        ("::127.0.0.1", "an IPv4-compatible address"),
        ("2001:0:4136:e378::1", "a Teredo tunnel"),
    ],
)
def test_the_addresses_a_run_never_reaches(address: str, why: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize(
    "address", ["203.0.113.80", "8.8.8.8", "151.101.0.223", "2606:4700::1111", "2a04:4e42::223"]
)
def test_the_internet_is_reachable(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_this_machine_s_own_addresses_are_refused_whatever_their_range() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.7", 9))  # no packet is sent: it picks the route
        except OSError:
            pytest.skip("no route off this machine")
        own = probe.getsockname()[0]
    if own.startswith("127."):
        pytest.skip("only loopback here")
    assert refusal(ipaddress.ip_address(own)) in {
        "an address of this machine",
        "a private network",
        "a carrier-grade NAT network",
    }


def test_the_operator_s_index_and_proxies_come_from_the_settings() -> None:
    policy = EgressPolicy.from_settings(
        {
            "PIP_INDEX_URL": "https://user:s3cret@pypi.internal.example:8443/simple",
            "PIP_EXTRA_INDEX_URL": "http://10.0.0.5/simple https://Mirror.Example/simple",
            "PIP_TRUSTED_HOST": "pypi.internal.example",
        },
        {"HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": ".corp,10.0.0.0/8,localhost"},
    )
    assert policy.allowed == {
        ("pypi.internal.example", 8443),
        ("10.0.0.5", 80),
        ("mirror.example", 443),
    }
    assert policy.proxy_for("https", "files.example.org") == "http://proxy.corp:3128"
    assert policy.proxy_for("http", "files.example.org") is None  # no HTTP_PROXY given
    assert policy.proxy_for("https", "git.corp") is None
    assert policy.proxy_for("https", "deep.git.corp") is None
    assert policy.proxy_for("https", "10.1.2.3") is None
    assert policy.proxy_for("https", "corpx.com") == "http://proxy.corp:3128"


# -- the proxy, spoken to as the forwarder in the sandbox does ------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        started = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(started)
        port: int = started.sockets[0].getsockname()[1]
        return port

    yield start
    for started in servers:
        started.close()
        await started.wait_closed()


async def ask(proxy: EgressProxy, request: bytes, then: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(proxy.socket_path))
    try:
        writer.write(request)
        await writer.drain()
        if then:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(then)
            await writer.drain()
            writer.write_eof()
            return head + await asyncio.wait_for(reader.read(), 10)
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_plain_http_is_forwarded_in_origin_form_on_a_connection_of_its_own(
    tmp_path: Path, server: Callable[[Handler], Awaitable[int]]
) -> None:
    seen: list[bytes] = []

    async def origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        await writer.drain()
        writer.close()

    port = await server(origin)
    policy = EgressPolicy(allowed=frozenset({("127.0.0.1", port)}))
    async with EgressProxy(tmp_path / "egress", policy, print) as proxy:
        answer = await ask(
            proxy,
            f"GET http://127.0.0.1:{port}/simple/?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic c2VjcmV0\r\n\r\n".encode(),
        )
        assert proxy.take_reached() == {f"127.0.0.1:{port}": 1}
    assert answer.endswith(b"\r\n\r\nok\n")
    [head] = seen
    assert head.startswith(b"GET /simple/?x=1 HTTP/1.1\r\n")
    assert b"Connection: close\r\n" in head
    assert b"Proxy-" not in head  # hop-by-hop: never passed on
    assert not (tmp_path / "egress" / "proxy.sock").exists()  # gone with the run


async def test_a_tunnel_carries_bytes_both_ways(
    tmp_path: Path, server: Callable[[Handler], Awaitable[int]]
) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.read()).upper())
        await writer.drain()
        writer.close()

    port = await server(echo)
    policy = EgressPolicy(allowed=frozenset({("127.0.0.1", port)}))
    async with EgressProxy(tmp_path / "egress", policy, print) as proxy:
        answer = await ask(
            proxy, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode(), then=b"tls bytes"
        )
    assert answer == b"HTTP/1.1 200 Connection established\r\n\r\nTLS BYTES"


async def test_a_refused_destination_is_answered_403_and_reported(
    tmp_path: Path, server: Callable[[Handler], Awaitable[int]]
) -> None:
    reached: list[bytes] = []

    async def service(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(await reader.read(100))
        writer.close()

    port = await server(service)  # the host's loopback: Conveyor's own port, say
    reports: list[str] = []
    async with EgressProxy(tmp_path / "egress", EgressPolicy(), reports.append) as proxy:
        tunnel = await ask(proxy, f"CONNECT localhost:{port} HTTP/1.1\r\n\r\n".encode())
        plain = await ask(proxy, b"GET http://169.254.169.254/latest/ HTTP/1.1\r\n\r\n")
        assert proxy.take_reached() == {}
    assert tunnel.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"does not reach localhost" in tunnel
    assert plain.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"link-local" in plain
    assert reached == []
    assert len(reports) == 2
    assert reports[0].startswith("conveyor: a run's network does not reach localhost (")


async def test_garbage_gets_400_and_endless_headers_431(tmp_path: Path) -> None:
    async with EgressProxy(tmp_path / "egress", EgressPolicy(), print) as proxy:
        assert (await ask(proxy, b"hello\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
        assert (await ask(proxy, b"GET ftp://x/ HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
        huge = b"GET http://x/ HTTP/1.1\r\n" + b"X: " + b"a" * 70_000 + b"\r\n\r\n"
        assert (await ask(proxy, huge)).startswith(b"HTTP/1.1 431 ")


async def test_the_operator_s_proxy_carries_what_it_should(
    tmp_path: Path, server: Callable[[Handler], Awaitable[int]]
) -> None:
    """HTTPS_PROXY with credentials: the tunnel is asked of it, with its Proxy-Authorization,
    for a name only it can resolve."""
    asked: list[bytes] = []

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        writer.write(await reader.read())
        await writer.drain()
        writer.close()

    port = await server(upstream)
    policy = EgressPolicy(upstream={"https": f"http://ops:p%40ss@127.0.0.1:{port}"})
    async with EgressProxy(tmp_path / "egress", policy, print) as proxy:
        answer = await ask(
            proxy, b"CONNECT files.registry.invalid:443 HTTP/1.1\r\n\r\n", then=b"hello"
        )
    assert answer == b"HTTP/1.1 200 Connection established\r\n\r\nhello"
    [head] = asked
    assert head.startswith(b"CONNECT files.registry.invalid:443 HTTP/1.1\r\n")
    assert f"Proxy-Authorization: Basic {base64.b64encode(b'ops:p@ss').decode()}".encode() in head


async def test_an_unknown_name_without_a_proxy_is_refused(tmp_path: Path) -> None:
    reports: list[str] = []
    async with EgressProxy(tmp_path / "egress", EgressPolicy(), reports.append) as proxy:
        answer = await ask(proxy, b"CONNECT nowhere.invalid:443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert reports == ["conveyor: cannot resolve nowhere.invalid"]


def test_the_destinations_are_listed_for_the_log() -> None:
    assert describe_reached({"pypi.org:443": 2, "files.example:443": 9}) == (
        "pypi.org:443 (2), files.example:443 (9)"
    )
