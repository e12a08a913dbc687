"""`make bench`'s subject: a bench user with data on the running suite, and the processes to meter."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.tokens import jwk_thumbprint
from tools import infra, suite
from tools.loadgen import pids_listening, with_children

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway bench account
FILE_BYTES = 1024 * 1024
TODOS_IN_LIST = 25


@dataclass
class Row:
    """One line of the report: what was measured, against what, and how it compares to the goal."""

    name: str
    value: float
    unit: str
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    cpu_us: dict[str, float] = field(default_factory=dict)


@dataclass
class Bench:
    """The suite under test: its URLs, a bench user's token and data, and its processes."""

    gateway: str
    auth_direct: list[str]
    token: str
    minted: str
    todo_id: str
    file_id: str
    groups: dict[str, list[int]]
    users_dsn: str
    todos_env: Path
    """The todos service's settings, as `make run` wrote them (for the bench's bare list)."""
    state: Path
    seconds: float

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def mint(private_pem: Path, issuer: str, audience: str, subject: str | None = None) -> str:
    """An access token for `subject` (a random one by default), signed with the local suite's
    development key."""
    key = serialization.load_pem_private_key(private_pem.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit(f"{private_pem} is not an RSA private key")
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject or str(uuid.uuid4()),
        "iat": now,
        "exp": now + 3600,
        "sid": uuid.uuid4().hex,
        "roles": [],
    }
    kid = jwk_thumbprint(key.public_key())
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def _env_value(path: Path, name: str) -> str:
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    raise SystemExit(f"{name} is not in {path}")


def register(client: httpx.Client, auth: str) -> tuple[str, str]:
    """A new account (directly on an auth replica); returns its username and id."""
    name = f"bench{uuid.uuid4().hex[:12]}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    response = client.post(f"{auth}/api/v1/auth/register", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"register: {response.status_code} {response.text}")
    return name, str(response.json()["id"])


def prepare(cfg: infra.InfraConfig, gateway_port: int, state: Path, seconds: float) -> Bench:
    """A registered bench user with 25 todos and a 1 MiB file; the processes to meter."""
    replicas = suite.Layout.from_env().replicas(2)
    ports = {r.service.name: [x.port for x in replicas if x.service == r.service] for r in replicas}
    gateway = f"http://127.0.0.1:{gateway_port}"
    auth_direct = [f"http://127.0.0.1:{port}" for port in ports["auth"]]
    with httpx.Client(timeout=30) as client:
        username, _ = register(client, auth_direct[0])
        login = client.post(
            f"{auth_direct[0]}/api/v1/auth/login",
            json={"username": username, "password": PASSWORD},
        )
        login.raise_for_status()
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        infra.wait_for(
            "the bench user's profile (user.registered)",
            lambda: client.get(f"{gateway}/api/v1/users/me", headers=headers).status_code == 200,
            timeout=20,
        )
        todo_ids = []
        for n in range(TODOS_IN_LIST):
            created = client.post(
                f"{gateway}/api/v1/todos",
                headers=headers,
                json={"title": f"bench todo {n}", "tags": ["bench"], "priority": "high"},
            )
            created.raise_for_status()
            todo_ids.append(created.json()["id"])
        upload = client.post(
            f"{gateway}/api/v1/files",
            headers=headers,
            files={"file": ("bench.bin", os.urandom(FILE_BYTES), "application/octet-stream")},
        )
        upload.raise_for_status()
    nginx_pid = int((cfg.state / "nginx" / "nginx.pid").read_text().split()[0])
    postmaster = int((cfg.state / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    groups = {
        name: pids_listening(service_ports, f"{name}_service")
        for name, service_ports in ports.items()
    }
    groups["nginx"] = with_children([nginx_pid])
    groups["postgres"] = with_children([postmaster])
    return Bench(
        gateway=gateway,
        auth_direct=auth_direct,
        token=token,
        minted=mint(
            cfg.state / "keys" / "jwt-private.pem", "https://auth.suite.local", "suite-api"
        ),
        todo_id=todo_ids[0],
        file_id=str(upload.json()["id"]),
        groups=groups,
        users_dsn=_env_value(cfg.state / "env" / "users.env", "USERS_DATABASE_URL"),
        todos_env=cfg.state / "env" / "todos.env",
        state=state,
        seconds=seconds,
    )
