"""Outbound connections go only to public addresses.

Post media URLs, PDS endpoints (from DID documents) and article pages come from content
anyone can write, so a link may point at 127.0.0.1, a private network or a cloud metadata
service. The check runs where the socket is opened: every connection, redirects included,
resolves the host once, refuses if any address is not global, and connects to the address
it checked, so DNS cannot answer differently between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
import typing

import httpcore
import httpx
from httpcore._backends.sync import SyncBackend

from postcheck.errors import FetchError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedDestination(FetchError):
    """The destination resolves to an address we never connect to."""


def parse_networks(values: typing.Iterable[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def is_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed: list[IPNetwork]) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed):
        return True
    # is_global excludes loopback, private, link-local (169.254/16: cloud metadata),
    # shared (100.64/10), reserved, documentation and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def resolve_checked(host: str, port: int, allowed: list[IPNetwork]) -> list[str]:
    """The host's addresses, all of them allowed, or BlockedDestination."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = []
    for info in infos:
        address = info[4][0]
        ip = ipaddress.ip_address(address.split("%")[0])
        if not is_allowed(ip, allowed):
            raise BlockedDestination(f"refused to connect to {host} ({ip}): not a public address")
        addresses.append(address)
    return addresses


class GuardedBackend(SyncBackend):
    def __init__(self, allowed: list[IPNetwork]) -> None:
        self.allowed = allowed

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in resolve_checked(host, port, self.allowed):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the host's next address
                last = exc
        raise last or httpcore.ConnectError(f"cannot connect to {host}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx transport whose connections pass through GuardedBackend (TLS still verifies
    the certificate against the host name)."""

    def __init__(self, allowed: list[IPNetwork], **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        self._pool = httpcore.ConnectionPool(
            ssl_context=pool._ssl_context,
            max_connections=pool._max_connections,
            max_keepalive_connections=pool._max_keepalive_connections,
            keepalive_expiry=pool._keepalive_expiry,
            http1=pool._http1,
            http2=pool._http2,
            retries=pool._retries,
            network_backend=GuardedBackend(allowed),
        )
