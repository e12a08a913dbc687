"""X-Forwarded-For is believed only from trusted proxies, read from the right, and never crashes."""

from __future__ import annotations

import ipaddress

import pytest

from auth_service.client_address import client_address, parse_trusted_proxies

GATEWAY = "10.0.0.5"
TRUSTED = parse_trusted_proxies("127.0.0.1/32, 10.0.0.0/8,fd00::/8")


def address(peer: str | None, forwarded_for: str | None) -> str:
    return client_address(peer=peer, forwarded_for=forwarded_for, trusted_proxies=TRUSTED)


def test_parse_trusted_proxies() -> None:
    assert (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
    ) == TRUSTED
    assert parse_trusted_proxies("") == ()
    assert parse_trusted_proxies("::1,") == (ipaddress.ip_network("::1/128"),)


@pytest.mark.parametrize("value", ["10.0.0.1/8", "localhost", "10.0.0.0/33"])
def test_parse_trusted_proxies_refuses_mistakes(value: str) -> None:
    with pytest.raises(ValueError, match="trusted proxies"):
        parse_trusted_proxies(value)


def test_untrusted_peer_cannot_forge_its_address() -> None:
    assert address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert address("203.0.113.9", "198.51.100.1, 10.0.0.7") == "203.0.113.9"


def test_trusted_peer_gives_the_last_untrusted_hop() -> None:
    assert address(GATEWAY, "203.0.113.9") == "203.0.113.9"
    # the client prepended a forged hop: the one our gateway appended wins
    assert address(GATEWAY, "1.1.1.1, 203.0.113.9") == "203.0.113.9"


def test_chain_of_trusted_proxies_is_skipped() -> None:
    assert address("127.0.0.1", "1.1.1.1, 203.0.113.9, 10.1.2.3, 10.0.0.5") == "203.0.113.9"
    # every hop trusted: the request came from inside, the furthest hop is the client
    assert address("127.0.0.1", "10.9.9.9, 10.0.0.5") == "10.9.9.9"


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("garbage", GATEWAY),  # at the right end: the peer
        ("203.0.113.9, not-an-ip", GATEWAY),
        ("203.0.113.9, 10.0.0.7, 999.1.1.1", GATEWAY),
        ("1.1.1.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        ("not-an-ip, 203.0.113.9", "203.0.113.9"),  # left of the answer: never read
        ("unknown, 203.0.113.9, ", "203.0.113.9"),  # empty list elements are skipped
        ("203.0.113.9:4711", "203.0.113.9"),
        ("203.0.113.9:port", GATEWAY),
        ("203.0.113.9:²", GATEWAY),
        ("fe80::1%eth0", GATEWAY),
        ("[2001:db8::1]:4711", "2001:db8::1"),
        ("[2001:db8::1", GATEWAY),
        ("\x00\n;DROP", GATEWAY),
        (",,,", GATEWAY),
    ],
)
def test_malformed_entries_are_handled_safely(forwarded_for: str, expected: str) -> None:
    assert address(GATEWAY, forwarded_for) == expected


def test_ipv6() -> None:
    assert address("fd00::1", "2001:DB8:0:0::1") == "2001:db8::1"
    assert address("fd00::1", "2001:db8::1, fd00::2") == "2001:db8::1"
    assert address("2001:db8::7", "198.51.100.1") == "2001:db8::7"
    # a dual-stack listener reports IPv4 peers as IPv4-mapped IPv6
    assert address("::ffff:10.0.0.5", "203.0.113.9") == "203.0.113.9"
    assert address(GATEWAY, "::ffff:203.0.113.9") == "203.0.113.9"


@pytest.mark.parametrize("forwarded_for", [None, "", "  "])
def test_empty_forwarded_for_gives_the_peer(forwarded_for: str | None) -> None:
    assert address(GATEWAY, forwarded_for) == GATEWAY


def test_peer_that_is_not_an_ip_address() -> None:
    assert address(None, "203.0.113.9") == "unknown"
    assert address("testclient", "203.0.113.9") == "testclient"
