"""The suite's services, named once; tools, the gateway renderer, deploy scripts and tests read it.

A service `name` is its directory (services/<name>), its URL prefix (/api/v1/<name>), its
database and role, and its settings prefix (<NAME>_); the rest follows from it. Files that cannot
import Python (pyproject.toml, the Dockerfile, compose, Kubernetes, Prometheus) keep their own
lists, and tests compare each one with this (tests/services/test_registry.py, tests/deploy).

Standard library only, like tools.infra.
"""

from __future__ import annotations

from dataclasses import dataclass

# Local replica i (from 1) of the service in port block b listens on base + 100 * b + i.
DEFAULT_BASE_PORT = 8100


@dataclass(frozen=True)
class Service:
    name: str
    port_block: int
    signs_tokens: bool = False  # holds the private key; the others load revocations from it
    stores_files: bool = False  # its replicas share one storage folder

    @property
    def package(self) -> str:
        """The import name: unique per service, since one venv holds every member."""
        return f"{self.name}_service"

    @property
    def distribution(self) -> str:
        """The workspace member's project name (uv --package, the images' SERVICE)."""
        return f"{self.name}-service"

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    def local_port(self, replica: int, base: int = DEFAULT_BASE_PORT) -> int:
        return base + 100 * self.port_block + replica


SERVICES = (
    Service("auth", port_block=0, signs_tokens=True),
    Service("users", port_block=1),
    Service("todos", port_block=2),
    Service("files", port_block=3, stores_files=True),
)
SERVICE_NAMES = tuple(service.name for service in SERVICES)
# Every workspace member as (distribution, package): the library, the services, the client.
MEMBERS = (
    ("shared", "shared"),
    *((s.distribution, s.package) for s in SERVICES),
    ("suite-client", "suite_client"),
)
