"""The suite as a client sees it: through the gateway of a suite the tests start themselves.

These tests import neither the services nor `shared`: they speak HTTP only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tools import suite

ROOT = Path(__file__).resolve().parents[2]
# A suite of the tests' own (.state/e2e, every port +1500), never the one `make run` serves: that
# one has production limits and a user's data. E2E_BASE_URL tests another suite instead.
BASE_URL = os.environ.get("E2E_BASE_URL", f"http://127.0.0.1:{suite.E2E.gateway_port}")
KEY_FILE = Path(os.environ.get("E2E_JWT_PRIVATE_KEY", suite.E2E.state / "keys" / "jwt-private.pem"))
ISSUER = os.environ.get("E2E_JWT_ISSUER", "https://auth.suite.local")
AUDIENCE = os.environ.get("E2E_JWT_AUDIENCE", "suite-api")

T = TypeVar("T")


def eventually(
    check: Callable[[], T],
    *,
    within: float,
    what: str | Callable[[], str],
    interval: float = 0.02,
) -> T:
    """Call `check` until it returns something truthy, and return that; fail after `within` s."""
    deadline = time.monotonic() + within
    while not (result := check()):
        if time.monotonic() > deadline:
            described = what if isinstance(what, str) else what()
            raise AssertionError(f"{described}: not within {within} s")
        time.sleep(interval)
    return result


def never(check: Callable[[], object], *, within: float, what: str, interval: float = 0.02) -> None:
    """Call `check` for `within` s; fail the moment it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        assert not check(), f"{what}, within {within} s"
        if time.monotonic() > deadline:
            return
        time.sleep(interval)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def _gateway_up() -> bool:
    try:
        return httpx.get(f"{BASE_URL}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The gateway under test; the tests' own suite is started (and stopped) unless it is up."""
    if _gateway_up():
        yield BASE_URL
        return
    ready = tmp_path_factory.mktemp("suite") / "ready.json"
    log = (tmp_path_factory.getbasetemp() / "suite.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.suite"],
        cwd=ROOT,
        # Every e2e request comes from 127.0.0.1: lift the per-address login limit (the gateway's
        # own tests show the limit works).
        env={
            **os.environ,
            **suite.E2E.env(),
            "SUITE_READY_FILE": str(ready),
            "SUITE_AUTH_RATE": "6000r/m",
            "SUITE_AUTH_BURST": "200",
            "SUITE_TRACES": "1",  # spans to .state/e2e/traces/*.jsonl, for the tracing test
            "SUITE_OIDC": "1",  # a development OpenID provider, for the sign-in tests
            # The fuzzer asks for many password resets from 127.0.0.1: lift that budget too.
            "AUTH_MAIL_REQUESTS_PER_ADDRESS_HOUR": "100000",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def started() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the suite exited before it was ready; see {log.name}")
        return ready.exists()

    try:
        eventually(started, within=300, interval=0.5, what=f"the suite starting (log: {log.name})")
        yield BASE_URL
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()


# The test modules get the waits as fixtures: in pytest's importlib mode they cannot import a
# helper module beside them.
@pytest.fixture(name="eventually", scope="session")
def eventually_fixture() -> Callable[..., object]:
    """`eventually(check, within=, what=)`: the one bounded wait of these tests."""
    return eventually


@pytest.fixture(name="never", scope="session")
def never_fixture() -> Callable[..., None]:
    """`never(check, within=, what=)`: `check` stays falsy for the whole window."""
    return never


@pytest.fixture(scope="session")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10, follow_redirects=False) as client:
        yield client


def _thumbprint(key: RSAPrivateKey) -> str:
    # RFC 7638: the kid the services derive from a PEM public key.
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


@pytest.fixture(scope="session")
def mint_token(base_url: str) -> Callable[..., str]:
    """Sign access tokens with the development key, as the auth service would."""
    key = serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    assert isinstance(key, RSAPrivateKey)
    kid = _thumbprint(key)

    def mint(sub: str | None = None, *, ttl: int = 300, **claims: object) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub or str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "sid": uuid.uuid4().hex,
            "roles": [],
            **claims,
        }
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})

    return mint
