"""The client's address behind the gateway: X-Forwarded-For is believed only from trusted proxies.

Each trusted proxy appends the address of whoever connected to it, so the list reads, from the
right, hops our own proxies saw; everything left of the first untrusted hop was written by the
client and may be forged. Addresses come back in canonical form (IPv4-mapped IPv6 as IPv4), so
one client has one throttling key however it is spelled.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(value: str) -> tuple[IPNetwork, ...]:
    """Networks from a comma-separated list ("127.0.0.1/32,10.0.0.0/8"); a bare address is a /32
    (or /128). A network with host bits set is refused, as it is most likely a typo."""
    networks: list[IPNetwork] = []
    for item in value.split(","):
        if item := item.strip():
            try:
                networks.append(ipaddress.ip_network(item))
            except ValueError as exc:
                raise ValueError(f"not a network in trusted proxies: {item!r}") from exc
    return tuple(networks)


def client_address(
    *, peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> str:
    """The rightmost X-Forwarded-For hop that is not a trusted proxy, when the peer is one; else
    the peer. Several X-Forwarded-For header lines must be joined with "," first, in order.

    A malformed hop ends the walk (hops left of it cannot be told apart from forgeries) and the
    peer is returned. A peer that is not an IP address (a Unix socket, a test client) is returned
    as given, and a missing one as "unknown".
    """
    peer_ip = _parse(peer or "")
    if peer_ip is None:
        return peer or "unknown"
    if not forwarded_for or not _trusted(peer_ip, trusted_proxies):
        return str(peer_ip)
    hops = [hop for hop in (part.strip() for part in forwarded_for.split(",")) if hop]
    furthest = peer_ip
    for hop in reversed(hops):
        hop_ip = _parse(hop)
        if hop_ip is None:
            return str(peer_ip)
        if not _trusted(hop_ip, trusted_proxies):
            return str(hop_ip)
        furthest = hop_ip
    # Every hop is a trusted proxy: the request started inside our own networks.
    return str(furthest)


def _trusted(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def _parse(text: str) -> IPAddress | None:
    """An address from "1.2.3.4", "1.2.3.4:5678", "::1", "[::1]" or "[::1]:5678"; else None."""
    if text.startswith("["):
        text, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not _is_port(rest)):
            return None
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
        if not _is_port(":" + port):
            return None
    if "%" in text:  # a zone index names an interface of the writer's host, not a client
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    digits = text[1:]
    return text.startswith(":") and digits.isascii() and digits.isdigit() and len(digits) <= 5
