"""docker-compose.yml: valid against the Compose specification, and its cross-references hold.

No Docker engine (and no `docker compose` plugin) is available here, so the file is validated
with the Compose specification's JSON schema as check-jsonschema vendors it, and the rest of
what `docker compose config` would catch, plus the suite's own rules, is asserted below.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tools.services import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
DATA_STORES = ("postgres", "rabbitmq", "redis")
Compose = dict[str, Any]


def check_jsonschema(
    find_tool: Callable[[str], str], path: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_shots(compose: Compose) -> set[str]:
    return {name for name, svc in compose["services"].items() if svc.get("restart") == "no"}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency -> condition (the long form is the only one used here)."""
    return {name: dep["condition"] for name, dep in service.get("depends_on", {}).items()}


def secret_names(service: dict[str, Any]) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def secret_path(service: dict[str, Any], name: str) -> str:
    for entry in service.get("secrets", []):
        if entry == name:
            return f"/run/secrets/{name}"
        if isinstance(entry, dict) and entry["source"] == name:
            target: str = entry.get("target", name)
            return target if target.startswith("/") else f"/run/secrets/{target}"
    raise AssertionError(f"secret {name} not mounted")


def test_compose_file_validates_against_the_compose_spec(find_tool: Callable[[str], str]) -> None:
    result = check_jsonschema(find_tool, ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_compose_file(
    find_tool: Callable[[str], str], compose: Compose, tmp_path: Path
) -> None:
    """The validator really looks: an unknown condition and a misspelled key are refused."""
    for breakage in ("condition", "key"):
        broken = yaml.safe_load(yaml.safe_dump(compose))
        if breakage == "condition":
            broken["services"]["gateway"]["depends_on"]["auth"]["condition"] = "service_ready"
        else:
            broken["services"]["auth"]["healthchek"] = broken["services"]["auth"].pop("healthcheck")
        path = tmp_path / f"{breakage}.yml"
        path.write_text(yaml.safe_dump(broken))
        assert check_jsonschema(find_tool, path).returncode != 0, breakage


def test_every_dependency_exists_and_there_is_no_cycle(compose: Compose) -> None:
    services = compose["services"]
    for name, service in services.items():
        assert set(depends_on(service)) <= set(services), name

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        for dependency in depends_on(services[name]):
            visit(dependency, (*path, name))

    for name in services:
        visit(name, ())


def test_everything_that_uses_a_data_store_waits_until_it_is_healthy(compose: Compose) -> None:
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        needs = set()
        if any(key.endswith("_DATABASE_URL") for key in env):
            needs.add("postgres")
        if any(key.endswith(("_AMQP_URL", "_AMQP_URL_FILE")) for key in env):
            needs.add("rabbitmq")
        if any(key.endswith("_REDIS_URL") for key in env):
            needs.add("redis")
        waits = depends_on(service)
        for store in needs:
            assert waits.get(store) == "service_healthy", f"{name} must wait for {store}"


def test_long_running_containers_have_healthchecks_and_one_shots_are_awaited(
    compose: Compose,
) -> None:
    shots = one_shots(compose)
    assert shots == {f"{s}-migrate" for s in SERVICE_NAMES}
    awaited = {
        dependency
        for service in compose["services"].values()
        for dependency, condition in depends_on(service).items()
        if condition == "service_completed_successfully"
    }
    # `docker compose up --wait` accepts an exited container only when something awaits it.
    assert awaited == shots
    for name, service in compose["services"].items():
        if name in shots:
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name
        assert not service["healthcheck"].get("disable"), name
        for dependency, condition in depends_on(service).items():
            if dependency not in shots:
                assert condition == "service_healthy", f"{name} -> {dependency}"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_starts_after_its_migration_and_runs_two_replicas(
    compose: Compose, service: str
) -> None:
    svc = compose["services"][service]
    migrate = compose["services"][f"{service}-migrate"]
    assert depends_on(svc)[f"{service}-migrate"] == "service_completed_successfully"
    assert migrate["command"] == ["migrate"]
    assert migrate["image"] == svc["image"]
    assert migrate["build"] == svc["build"]
    assert svc["build"]["args"] == {
        "SERVICE": service,
        "PYTHON_IMAGE": "${SUITE_PYTHON_IMAGE:-python:3.11-slim-bookworm}",
    }
    assert (ROOT / svc["build"]["dockerfile"]).is_file()
    assert svc["deploy"]["replicas"] == 2
    assert "/health/readiness" in " ".join(svc["healthcheck"]["test"])
    if service != "auth":
        # The revocation snapshot comes from auth before a replica reports ready.
        assert depends_on(svc)["auth"] == "service_healthy"
        url = svc["environment"][f"{service.upper()}_REVOCATIONS_URL"]
        assert url == "http://auth:8000/internal/v1/revocations"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_uses_its_own_database_role(compose: Compose, service: str) -> None:
    for name in (service, f"{service}-migrate"):
        svc = compose["services"][name]
        env = svc["environment"]
        url = urlsplit(env[f"{service.upper()}_DATABASE_URL"])
        assert (url.username, url.password, url.hostname, url.path) == (
            service,
            None,
            "postgres",
            f"/{service}",
        )
        assert env["PGPASSWORD_FILE"] == secret_path(svc, f"{service}-db-password")
        assert {s for s in secret_names(svc) if s.endswith("-db-password")} == {
            f"{service}-db-password"
        }


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_signs_cursors_with_its_own_secret(compose: Compose, service: str) -> None:
    for name in (service, f"{service}-migrate"):
        svc = compose["services"][name]
        assert svc["environment"][f"{service.upper()}_CURSOR_SECRET_FILE"] == secret_path(
            svc, f"{service}-cursor-secret"
        )
        assert {s for s in secret_names(svc) if s.endswith("-cursor-secret")} == {
            f"{service}-cursor-secret"
        }


def test_postgres_creates_every_services_role_with_its_password(compose: Compose) -> None:
    postgres = compose["services"]["postgres"]
    assert secret_names(postgres) == {"postgres-password"} | {
        f"{s}-db-password" for s in SERVICE_NAMES
    }
    mounts = [v.split(":") for v in postgres["volumes"] if v.startswith("./")]
    assert mounts == [
        [
            "./deploy/compose/postgres-init.sh",
            "/docker-entrypoint-initdb.d/10-service-databases.sh",
            "ro",
        ]
    ]


def test_file_variables_point_at_mounted_secrets(compose: Compose) -> None:
    """The image's entrypoint turns <SVC>_X_FILE into <SVC>_X: the file must be there."""
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if key.endswith("_FILE"):
                mounted = {secret_path(service, s) for s in secret_names(service)}
                assert value in mounted, f"{name}: {key}"


def test_only_auth_gets_the_private_key(compose: Compose) -> None:
    holders = {n for n, s in compose["services"].items() if "jwt-private-key" in secret_names(s)}
    assert holders == {"auth"}
    auth = compose["services"]["auth"]
    assert auth["environment"]["AUTH_JWT_PRIVATE_KEY"] == secret_path(auth, "jwt-private-key")
    for service in SERVICE_NAMES:
        for name in (service, f"{service}-migrate"):
            svc = compose["services"][name]
            key_set = svc["environment"][f"{service.upper()}_JWT_PUBLIC_KEYS"]
            assert key_set == secret_path(svc, "jwt-public-keys")


def test_secrets_volumes_and_networks_used_are_declared(compose: Compose) -> None:
    declared_networks = set(compose["networks"])
    for name, service in compose["services"].items():
        assert secret_names(service) <= set(compose["secrets"]), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("./", "/")):
                assert source in compose["volumes"], f"{name}: {source}"
        networks = service.get("networks", [])
        assert set(networks) <= declared_networks, name
        assert networks, f"{name} must name its networks (no implicit default network)"
    used = {s for svc in compose["services"].values() for s in secret_names(svc)}
    assert used == set(compose["secrets"]), "declared secrets nobody uses"


def test_secret_files_are_the_ones_make_secrets_generates(
    compose: Compose, make_secrets: ModuleType, tmp_path: Path
) -> None:
    generated = {path.name for path in make_secrets.generate(tmp_path)}
    for secret in compose["secrets"].values():
        path = Path(secret["file"])
        assert path.parent == Path("deploy/compose/secrets")
        assert path.name in generated
    assert ROOT / path.parent == make_secrets.TARGETS["compose"]


def test_networks_keep_the_tiers_apart(compose: Compose) -> None:
    services = compose["services"]
    members = {
        network: {name for name, svc in services.items() if network in svc.get("networks", [])}
        for network in compose["networks"]
    }
    assert members["edge"] == {"gateway"}
    assert members["backend"] == {"gateway", *SERVICE_NAMES}
    assert members["data"] == {
        "postgres",
        "rabbitmq",
        *SERVICE_NAMES,
        *(f"{s}-migrate" for s in SERVICE_NAMES),
    }
    assert members["cache"] == {"redis", "auth"}
    for network in ("backend", "data", "cache"):
        assert compose["networks"][network]["internal"] is True
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"gateway"}


def test_auth_trusts_forwarded_addresses_from_the_gateway_alone(compose: Compose) -> None:
    gateway_ip = ipaddress.ip_address(
        compose["services"]["gateway"]["networks"]["backend"]["ipv4_address"]
    )
    (ipam,) = compose["networks"]["backend"]["ipam"]["config"]
    assert gateway_ip in ipaddress.ip_network(ipam["subnet"])
    # Dynamic addresses come from ip_range, so no replica can be handed the gateway's address.
    assert gateway_ip not in ipaddress.ip_network(ipam["ip_range"])
    trusted = compose["services"]["auth"]["environment"]["AUTH_TRUSTED_PROXIES"]
    assert ipaddress.ip_network(trusted) == ipaddress.ip_network(f"{gateway_ip}/32")


def test_the_gateway_fronts_the_services_on_8080(compose: Compose) -> None:
    gateway = compose["services"]["gateway"]
    # Loopback only: nothing reaches the suite from another machine unless a proxy is put there.
    assert gateway["ports"] == ["127.0.0.1:${SUITE_GATEWAY_PORT:-8080}:8080"]
    # The same nginx as the Dockerfile's default: >= 1.27.3 for `resolve` in upstream blocks.
    assert gateway["build"]["args"] == {
        "NGINX_IMAGE": "${SUITE_NGINX_IMAGE:-nginxinc/nginx-unprivileged:1.28.0-alpine}"
    }
    assert depends_on(gateway) == {s: "service_healthy" for s in SERVICE_NAMES}
    assert gateway["build"]["dockerfile"] == "deploy/docker/gateway.Dockerfile"


def test_the_files_replicas_share_one_storage_volume(compose: Compose) -> None:
    files = compose["services"]["files"]
    (mount,) = [v for v in files["volumes"] if v.startswith("files-storage:")]
    assert files["deploy"]["replicas"] == 2
    assert files["environment"]["FILES_STORAGE_BACKEND"] == "local"
    assert files["environment"]["FILES_STORAGE_DIR"] == mount.split(":")[1]


def test_containers_are_hardened(compose: Compose) -> None:
    for name in (*SERVICE_NAMES, *(f"{s}-migrate" for s in SERVICE_NAMES), "gateway"):
        service = compose["services"][name]
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name  # noqa: S108 - a tmpfs in the container
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
    for store in DATA_STORES:
        assert compose["services"][store]["volumes"], store
