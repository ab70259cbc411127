"""Outbound connections go only to public addresses.

Post media URLs, PDS endpoints (from DID documents) and article pages come from content
anyone can write, so a link may point at 127.0.0.1, a private network or a cloud metadata
service. The check runs where the socket is opened: every connection, redirects included,
resolves the host once, refuses if any address is not global, and connects to the address
it checked, so DNS cannot answer differently between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import typing
from dataclasses import dataclass

import httpcore
import httpx
from httpcore._backends.sync import SyncBackend

from postcheck.errors import ConfigError, FetchError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedDestination(FetchError):
    """The destination resolves to an address we never connect to."""


@dataclass(frozen=True)
class Allowed:
    """A destination the settings allow: a network, and one port of it or every port."""

    network: IPNetwork
    port: int | None = None

    def admits(self, ip: IPAddress, port: int | None) -> bool:
        return ip in self.network and (self.port is None or self.port == port)


_BRACKETED = re.compile(r"\[(?P<net>[^\]]+)\](?::(?P<port>[0-9]+))?")


def parse_allowed_entry(entry: str) -> Allowed:
    """'127.0.0.1:8080', '[::1]:8080', '10.0.0.0/8:443', '[fd00::/8]:443' (one port), or
    '127.0.0.1', '10.0.0.0/8', 'fd00::/8' (every port); ConfigError otherwise."""
    text = entry.strip()
    net, port = text, None
    if (m := _BRACKETED.fullmatch(text)) is not None:
        net, port = m.group("net"), m.group("port")
    elif text.count(":") == 1:  # IPv4 with a port (an IPv6 address with a port is bracketed)
        net, port = text.split(":")
    try:
        network = ipaddress.ip_network(net, strict=False)
        number = int(port) if port is not None else None
        if number is not None and not (port.isascii() and port.isdigit() and 0 < number < 65536):
            raise ValueError(port)
    except ValueError:
        raise ConfigError(
            f"POSTCHECK_ALLOWED_NETWORKS: {text!r} is not an address or network with an "
            "optional port (127.0.0.1:8080, [::1]:8080, 10.0.0.0/8)"
        ) from None
    return Allowed(network, number)


def parse_allowed(values: typing.Iterable[str]) -> list[Allowed]:
    return [parse_allowed_entry(v) for v in values if v.strip()]


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (RFC 4291)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)


def as_ipv4(ip: IPAddress) -> IPAddress:
    """An IPv6 address that *is* an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, or
    IPv4-compatible ::a.b.c.d) as that IPv4 address; any other address as it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _V4_COMPATIBLE and int(ip) > 1:  # '::' and '::1' are IPv6's own
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def tunnelled_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a translated or tunnelled IPv6 address leads to: NAT64
    (64:ff9b::/96, and 64:ff9b:1::/48 read at both of RFC 6052's /48 and /96 positions),
    6to4 (2002::/16) and Teredo (2001::/32, its server and its client)."""
    n = int(ip)
    found = []
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(n & 0xFFFFFFFF))
    if ip in _NAT64_LOCAL:  # /48: bits 48-63, then (after the u octet) bits 72-87
        found.append(ipaddress.IPv4Address((((n >> 64) & 0xFFFF) << 16) | ((n >> 40) & 0xFFFF)))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _public(ip: IPAddress) -> bool:
    # is_global excludes loopback, private, link-local (169.254/16: cloud metadata),
    # shared (100.64/10), reserved, documentation and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def is_allowed(ip: IPAddress, allowed: list[Allowed], port: int | None = None) -> bool:
    """Whether we may connect to `ip` (on `port`): a public address, or a destination
    the settings allow (an address or network, on one port or on every port). An
    IPv6 address carrying an IPv4 address is judged by that address too: the mapped and
    compatible forms as the IPv4 address itself, and a NAT64, 6to4 or Teredo address
    only if every IPv4 address it leads to is public (or it is itself allowed)."""
    ip = as_ipv4(ip)
    if any(a.admits(ip, port) for a in allowed):
        return True
    if isinstance(ip, ipaddress.IPv6Address) and not all(map(_public, tunnelled_ipv4(ip))):
        return False
    return _public(ip)


def resolve_checked(host: str, port: int, allowed: list[Allowed]) -> list[str]:
    """The host's addresses, all of them allowed, or BlockedDestination."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = []
    for info in infos:
        address = info[4][0]
        ip = ipaddress.ip_address(address.split("%")[0])
        if not is_allowed(ip, allowed, port):
            raise BlockedDestination(
                f"refused to connect to {host} ({ip}) port {port}: not a public address"
                " nor an allowed destination"
            )
        addresses.append(address)
    return addresses


class GuardedBackend(SyncBackend):
    def __init__(self, allowed: list[Allowed]) -> None:
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

    def __init__(self, allowed: list[Allowed], **kwargs: typing.Any) -> None:
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
