"""`python -m auth_service grant-admin`: as the README shows it, against a real database."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from auth_service.settings import Settings

PASSWORD = "correct horse battery staple"


async def cli(*args: str, env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command as an operator would, with no AUTH_* variables in the environment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AUTH_")}
    options = ["--env-file", str(env_file)] if env_file else []
    command = [sys.executable, "-m", "auth_service", *options, *args]
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
    )


def env_file_of(settings: Settings, path: Path) -> Path:
    values = {
        "AUTH_DATABASE_URL": str(settings.database_url),
        "AUTH_JWT_PUBLIC_KEYS": settings.jwt_public_keys,
        "AUTH_JWT_PRIVATE_KEY": settings.jwt_private_key.get_secret_value(),
    }
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


async def test_help_explains_the_command() -> None:
    result = await cli("grant-admin", "--help")
    assert result.returncode == 0, result.stderr
    assert "admin role" in result.stdout and "username or email" in result.stdout


async def test_missing_settings_are_named_without_a_traceback() -> None:
    result = await cli("grant-admin", "somebody")
    assert result.returncode == 2
    assert "AUTH_DATABASE_URL" in result.stderr and "--env-file" in result.stderr
    assert "Traceback" not in result.stderr


async def test_grant_admin_gives_the_role_from_the_next_login(
    client: httpx.AsyncClient, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    name = f"op{secrets.token_hex(5)}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    env_file = env_file_of(make_settings(), tmp_path / "auth.env")

    granted = await cli("grant-admin", f"{name.upper()}@example.com", env_file=env_file)
    unknown = await cli("grant-admin", "nobody-at-all", env_file=env_file)

    assert granted.returncode == 0, granted.stderr
    assert unknown.returncode != 0 and "nobody-at-all" in unknown.stderr
    login = await client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    token = login.json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["roles"] == ["admin"]
