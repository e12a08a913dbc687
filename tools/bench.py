"""`make bench`: requests/s of the per-request path, measured with wrk (bounded in time and connections).

Compares, in one run on this machine, an authenticated endpoint (`GET /api/v1/todos/ping`: token
verification + serialisation) with `/health/liveness` of the same service, and the same
authenticated endpoint through nginx. Uses the running suite, or starts one and stops it after.
The gateway never proxies `/health/*`, so liveness is measured on a replica directly; the
authenticated endpoint is measured both ways so that the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.tokens import jwk_thumbprint
from tools import infra, suite


def mint(private_pem: Path, cfg_issuer: str, audience: str) -> str:
    key = serialization.load_pem_private_key(private_pem.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit(f"{private_pem} is not an RSA private key")
    now = int(time.time())
    claims = {
        "iss": cfg_issuer,
        "aud": audience,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 3600,
        "sid": uuid.uuid4().hex,
        "roles": [],
    }
    kid = jwk_thumbprint(key.public_key())
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str]) -> tuple[float, str]:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*argv, url], check=True, capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+(\S+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error responses during the run")
    assert rate is not None
    return float(rate.group(1)), p99.group(1) if p99 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    cfg = infra.InfraConfig.from_env("local")
    gateway_port = suite.default_gateway_port()
    started = None
    if not infra.port_open(gateway_port):
        started = suite.Suite(cfg, 2, gateway_port)
        started.start()
    try:
        todos = next(r for r in suite.replicas(2) if r.service.name == "todos")
        token = mint(
            cfg.state / "keys" / "jwt-private.pem", "https://auth.suite.local", "suite-api"
        )
        auth = {"Authorization": f"Bearer {token}"}
        gateway = f"http://127.0.0.1:{gateway_port}"
        direct = f"http://127.0.0.1:{todos.port}"
        assert httpx.get(f"{gateway}/api/v1/todos/ping", headers=auth).status_code == 200
        cases = [
            ("liveness, replica direct", f"{direct}/health/liveness", {}),
            ("ping (authenticated), replica direct", f"{direct}/api/v1/todos/ping", auth),
            ("ping (authenticated), via nginx, 2 replicas", f"{gateway}/api/v1/todos/ping", auth),
        ]
        results = {}
        print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, one run, this machine:")
        for name, url, headers in cases:
            wrk(url, seconds=1, connections=args.connections, headers=headers)  # warm-up
            rate, p99 = wrk(
                url, seconds=args.seconds, connections=args.connections, headers=headers
            )
            results[name] = rate
            print(f"  {name:<45} {rate:>9.0f} req/s   p99 {p99}")
        live, ping_direct, ping_gw = results.values()
        print(f"  ratio ping/liveness (direct)                  {ping_direct / live:>9.2f}")
        print(f"  ratio ping via nginx (2 replicas)/direct (1)  {ping_gw / ping_direct:>9.2f}")
    finally:
        if started is not None:
            started.stop()


if __name__ == "__main__":
    main()
