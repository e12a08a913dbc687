"""Generate the secrets a deployment on this machine needs, once: keys and passwords.

    python -m deploy.make_secrets compose   # deploy/compose/secrets/, read by docker-compose.yml
    python -m deploy.make_secrets k8s-dev   # deploy/k8s/overlays/dev/secrets/, read by its generators

Existing files are kept, so running it again changes nothing (a database volume initialised with
a password keeps working). Both folders are git-ignored. Production secrets never come from here:
README.md, "Deploying" lists what the prod overlay expects to find in the cluster.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tools.services import SERVICE_NAMES, SERVICES

DEPLOY = Path(__file__).resolve().parent
TARGETS = {
    "compose": DEPLOY / "compose" / "secrets",
    "k8s-dev": DEPLOY / "k8s" / "overlays" / "dev" / "secrets",
}
AMQP_USER = "suite"


def _password() -> str:
    # URL-safe, so it can sit in a DSN's userinfo without escaping.
    return secrets.token_urlsafe(24)


def generate(folder: Path) -> list[Path]:
    """Write whatever is missing in `folder`; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    # The folder keeps other users of this machine out. The files themselves are world-readable
    # because Compose bind-mounts them as they are, and the containers' users (postgres,
    # rabbitmq, the services' uid 10001) are not the owner on the host.
    folder.chmod(0o700)
    written: list[Path] = []

    def ensure(name: str, make: Callable[[], str]) -> str:
        path = folder / name
        if not path.exists():
            path.write_text(make())
            path.chmod(0o644)
            written.append(path)
        return path.read_text()

    private_pem = ensure("jwt-private.pem", _private_key_pem)
    ensure("jwt-public.pem", lambda: _public_key_pem(private_pem))
    ensure("postgres-password", _password)
    for service in SERVICE_NAMES:
        ensure(f"{service}-db-password", _password)
        # Signs the service's pagination cursors; its replicas must share it.
        ensure(f"{service}-cursor-secret", _password)
    for signer in (service for service in SERVICES if service.signs_tokens):
        # Signs device tokens (clients known to an account); its replicas must share it.
        ensure(f"{signer.name}-device-token-secret", _password)
    amqp_password = ensure("amqp-password", _password)
    ensure("amqp-url", lambda: f"amqp://{AMQP_USER}:{amqp_password}@rabbitmq:5672/")
    # A conf.d snippet: RabbitMQ creates this user on first boot instead of guest.
    ensure(
        "rabbitmq-credentials.conf",
        lambda: f"default_user = {AMQP_USER}\ndefault_pass = {amqp_password}\n",
    )
    ensure("admin-password", _password)
    return written


def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_key_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--dir", type=Path, help="write here instead of the target's folder")
    args = parser.parse_args(argv)
    folder: Path = args.dir or TARGETS[args.target]
    for path in generate(folder):
        sys.stderr.write(f"generated {os.path.relpath(path)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
