"""The compose suite comes up healthy, answers the e2e tests, and its images keep no secret."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from tools import compose
from tools.services import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
IMAGES = [f"suite/{name}:dev" for name in (*SERVICE_NAMES, "gateway")]


def test_every_container_is_healthy_and_every_migration_exited_0(stack: Any) -> None:
    by_service: dict[str, list[dict[str, Any]]] = {}
    for container in stack.containers():
        by_service.setdefault(
            container["Config"]["Labels"]["com.docker.compose.service"], []
        ).append(container)
    for name in SERVICE_NAMES:
        (migration,) = by_service[f"{name}-migrate"]
        assert migration["State"]["Status"] == "exited" and migration["State"]["ExitCode"] == 0
        replicas = by_service[name]
        assert len(replicas) == 2  # deploy.replicas
        assert {r["State"]["Health"]["Status"] for r in replicas} == {"healthy"}
    for name in ("postgres", "rabbitmq", "redis", "gateway"):
        (container,) = by_service[name]
        assert container["State"]["Health"]["Status"] == "healthy", name


def test_only_the_gateway_publishes_and_only_on_loopback(stack: Any) -> None:
    for container in stack.containers():
        ports = container["HostConfig"]["PortBindings"] or {}
        service = container["Config"]["Labels"]["com.docker.compose.service"]
        if service != "gateway":
            assert not ports, service
            continue
        assert [b["HostIp"] for bindings in ports.values() for b in bindings] == ["127.0.0.1"]
    internal = {
        net["Labels"]["com.docker.compose.network"]: net["Internal"]
        for net in json.loads(
            stack.docker(
                "network",
                "inspect",
                *stack.docker(
                    "network", "ls", "-q", "--filter", "label=com.docker.compose.network"
                ).split(),
            )
        )
    }
    assert internal == {"edge": False, "backend": True, "data": True, "cache": True}


def test_the_e2e_tests_pass_through_the_compose_gateway(
    stack: Any, figures: dict[str, Any]
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={
            **os.environ,
            "E2E_BASE_URL": stack.base_url,
            "E2E_JWT_PRIVATE_KEY": str(ROOT / "deploy/compose/secrets/jwt-private.pem"),
            "E2E_ADMIN_PASSWORD_FILE": str(ROOT / "deploy/compose/secrets/admin-password"),
            # Docker's proxy for the published port connects from the edge network's gateway.
            "E2E_CLIENT_ADDRESS": edge_gateway(stack),
        },
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    figures["e2e_s"] = round(time.monotonic() - started, 1)
    figures["e2e_summary"] = result.stdout.strip().splitlines()[-1] if result.stdout else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def edge_gateway(stack: Any) -> str:
    """The address of the host side of the `edge` network: what the gateway sees as the client."""
    (network,) = json.loads(
        stack.docker(
            "network",
            "inspect",
            *stack.docker(
                "network", "ls", "-q", "--filter", "label=com.docker.compose.network=edge"
            ).split(),
        )
    )
    gateway: str = network["IPAM"]["Config"][0]["Gateway"]
    return gateway


def _image_files(stack: Any, image: str) -> dict[str, str]:
    """Every regular file of the image's file system: path -> sha256."""
    container = stack.docker("create", image).strip()
    try:
        export = subprocess.Popen(
            [compose.docker_engine.client(), "export", container],
            env=stack.env,
            stdout=subprocess.PIPE,
        )
        assert export.stdout is not None
        files = {}
        with tarfile.open(fileobj=export.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile():
                    handle = archive.extractfile(member)
                    assert handle is not None
                    files[member.name] = hashlib.sha256(handle.read()).hexdigest()
        export.wait()
        return files
    finally:
        stack.docker("rm", container)


@pytest.mark.parametrize("image", IMAGES)
def test_images_run_as_non_root_and_hold_no_secret_or_ca_bundle(
    stack: Any, image: str, figures: dict[str, Any]
) -> None:
    (config,) = json.loads(stack.docker("image", "inspect", image))
    user = config["Config"]["User"]
    assert user and user.split(":")[0] not in ("0", "root"), user
    figures.setdefault("image_mib", {})[image] = round(config["Size"] / 2**20, 1)
    history = stack.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    assert "BEGIN" not in history and "PRIVATE KEY" not in history
    bundle = compose.ca_bundle_path()
    files = _image_files(stack, image)
    assert not [path for path in files if path.startswith(("run/secrets", "deploy/compose"))]
    assert not [path for path in files if path.endswith((".pem", ".key")) and "/secrets" in path]
    if bundle is not None:
        digest = hashlib.sha256(Path(bundle).read_bytes()).hexdigest()
        assert digest not in files.values(), "the build's CA bundle stayed in the image"
    # The compose file runs every one of them with a read-only root file system.
    service = image.split("/")[1].split(":")[0]
    (running, *_) = stack.running(service)
    assert running["HostConfig"]["ReadonlyRootfs"] is True
