"""Who the client is, as the gateway decides it: never an address the client wrote.

Locally (and in compose) nothing in front of the gateway is trusted, so the client is the peer.
Behind a load balancer (Kubernetes' ingress) nginx's real_ip believes only that load balancer's
X-Forwarded-For, and takes the rightmost address it did not add itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from gateway.tests.conftest import StartGateway

LOGIN = "/api/v1/auth/login"


def seen_by_the_service(response: httpx.Response) -> tuple[str, str]:
    headers = response.json()["headers"]
    return headers["x-forwarded-for"], headers["x-real-ip"]


def test_a_client_cannot_name_its_own_address(start_gateway: StartGateway) -> None:
    gateway = start_gateway(auth_rate="10r/m", auth_burst=3)
    with gateway.client() as client:
        forged = client.get("/api/v1/todos", headers={"X-Forwarded-For": "6.6.6.6"})
        # Each guess claims another address; the limit still counts them all as one client.
        statuses = [
            client.post(LOGIN, json={}, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(1, 6)
        ]
    assert seen_by_the_service(forged) == ("127.0.0.1", "127.0.0.1")
    assert statuses == [200, 200, 200, 200, 429]


def test_clients_behind_a_trusted_load_balancer_are_told_apart(
    start_gateway: StartGateway,
) -> None:
    # 127.0.0.1 plays the load balancer: it appends the address of whoever connected to it.
    gateway = start_gateway(auth_rate="10r/m", auth_burst=3, trusted_proxies=["127.0.0.1/32"])

    def through_balancer(client_address: str, own_header: str | None = None) -> dict[str, str]:
        chain = f"{own_header}, {client_address}" if own_header else client_address
        return {"X-Forwarded-For": chain}

    with gateway.client() as client:
        first = [
            client.post(LOGIN, json={}, headers=through_balancer("203.0.113.5")).status_code
            for _ in range(5)
        ]
        # The same client again, now writing its own X-Forwarded-For: still 203.0.113.5.
        forging = client.post(LOGIN, json={}, headers=through_balancer("203.0.113.5", "6.6.6.6"))
        second = [
            client.post(LOGIN, json={}, headers=through_balancer("203.0.113.6")).status_code
            for _ in range(4)
        ]
        echo = client.get("/api/v1/todos", headers=through_balancer("203.0.113.7", "6.6.6.6"))

    assert first == [200, 200, 200, 200, 429]
    assert forging.status_code == 429
    assert second == [200, 200, 200, 200]  # a bucket of its own
    assert seen_by_the_service(echo) == ("203.0.113.7", "203.0.113.7")


def test_an_untrusted_peer_cannot_pose_as_the_load_balancer(start_gateway: StartGateway) -> None:
    # Only 10.0.0.0/8 is trusted; this client connects from 127.0.0.1 and claims to relay.
    gateway = start_gateway(trusted_proxies=["10.0.0.0/8"])
    with gateway.client() as client:
        echo = client.get("/api/v1/todos", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen_by_the_service(echo) == ("127.0.0.1", "127.0.0.1")
