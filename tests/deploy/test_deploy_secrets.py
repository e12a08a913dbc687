"""The secrets a deployment on one machine needs, and the init script that uses them.

deploy/postgres-init.sh is run for real, against the test run's PostgreSQL, exactly as the
postgres image runs it; only the role names are made unique so they cannot meet the local stack's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from tools.services import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
INIT_SCRIPT = ROOT / "deploy" / "compose" / "postgres-init.sh"


def test_generates_a_key_pair_and_passwords_once(make_secrets: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    written = make_secrets.generate(folder)
    names = {path.name for path in written}
    assert {"jwt-private.pem", "jwt-public.pem", "amqp-url", "admin-password"} <= names
    assert {f"{s}-db-password" for s in SERVICE_NAMES} <= names
    contents = {path.name: path.read_text() for path in written}
    assert make_secrets.generate(folder) == []  # a second run keeps everything
    assert {p.name: p.read_text() for p in written} == contents
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    private = serialization.load_pem_private_key(contents["jwt-private.pem"].encode(), None)
    public = serialization.load_pem_public_key(contents["jwt-public.pem"].encode())
    assert private.public_key().public_numbers() == public.public_numbers()  # type: ignore[union-attr]

    passwords = [contents[f"{s}-db-password"] for s in SERVICE_NAMES]
    assert len(set(passwords)) == len(passwords)
    url = urlsplit(contents["amqp-url"])
    assert (url.username, url.password, url.hostname) == (
        "suite",
        contents["amqp-password"],
        "rabbitmq",
    )
    assert contents["rabbitmq-credentials.conf"] == (
        f"default_user = suite\ndefault_pass = {contents['amqp-password']}\n"
    )


def test_the_dev_overlay_reads_only_generated_files(
    make_secrets: ModuleType, tmp_path: Path
) -> None:
    generated = {path.name for path in make_secrets.generate(tmp_path)}
    kustomization = yaml.safe_load(
        (ROOT / "deploy" / "k8s" / "overlays" / "dev" / "kustomization.yaml").read_text()
    )
    for generator in kustomization["secretGenerator"] + kustomization["configMapGenerator"]:
        if generator["name"] == "gateway-nginx":
            continue  # committed, rendered by deploy.render_gateway (checked with --check)
        for entry in generator.get("files", []):
            path = Path(entry.partition("=")[2])
            assert path.parent == Path("secrets")
            assert path.name in generated
    assert make_secrets.TARGETS["k8s-dev"] == ROOT / "deploy/k8s/overlays/dev/secrets"


@pytest.mark.parametrize("folder", ["deploy/compose/secrets", "deploy/k8s/overlays/dev/secrets"])
def test_secret_folders_are_kept_out_of_git(folder: str) -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", f"{folder}/jwt-private.pem"],
        cwd=ROOT,
        check=False,
    )
    assert ignored.returncode == 0


@pytest.fixture
def init_roles(servers: Any, run_id: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Run postgres-init.sh against the test PostgreSQL for two services; role -> password."""
    roles = {f"deploy_{run_id}_{name}": f"pw-{name}-{run_id}" for name in ("alpha", "beta")}
    for role, password in roles.items():
        (tmp_path / f"{role}-db-password").write_text(password + "\n")
    admin = urlsplit(servers.pg_admin_dsn)
    env = {
        **os.environ,
        "PGHOST": admin.hostname or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "PGPASSWORD": admin.password or "",
        "POSTGRES_USER": admin.username or "postgres",
        "SUITE_SECRETS_DIR": str(tmp_path),
    }
    try:
        result = subprocess.run(
            ["bash", str(INIT_SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        yield roles
    finally:
        for role in roles:
            for statement in (
                f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)',
                f'DROP ROLE IF EXISTS "{role}"',
            ):
                with contextlib.suppress(subprocess.SubprocessError):
                    subprocess.run(
                        ["psql", "-X", "-q", "-d", "postgres", "-c", statement],
                        env=env,
                        check=False,
                    )


def connect(servers: Any, role: str, password: str, database: str) -> str:
    admin = urlsplit(servers.pg_admin_dsn)

    async def attempt() -> str:
        connection = await asyncpg.connect(
            host=admin.hostname,
            port=admin.port,
            user=role,
            password=password,
            database=database,
            timeout=5,
        )
        try:
            name: str = await connection.fetchval("SELECT current_database()")
            return name
        finally:
            await connection.close()

    return asyncio.run(attempt())


def test_init_script_gives_each_role_its_own_database_and_no_other(
    servers: Any, init_roles: dict[str, str]
) -> None:
    (alpha, alpha_pw), (beta, beta_pw) = init_roles.items()
    assert connect(servers, alpha, alpha_pw, alpha) == alpha
    assert connect(servers, beta, beta_pw, beta) == beta
    for role, password, database in (
        (alpha, alpha_pw, beta),
        (beta, beta_pw, alpha),
        (alpha, alpha_pw, "postgres"),
        (beta, beta_pw, "template1"),
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            connect(servers, role, password, database)
    with pytest.raises(asyncpg.InvalidPasswordError):
        connect(servers, alpha, beta_pw, alpha)
