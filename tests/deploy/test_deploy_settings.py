"""Each service's own Settings accept the environment each deployment gives it.

The settings refuse development defaults in production (guest broker credentials, the default
cursor secret, ...). Loading them here, from the variables docker-compose.yml and the dev overlay
set, with the secrets make_secrets.py generates, catches a setting a deployment forgot before a
container would crash on it.
"""

from __future__ import annotations

import base64
import importlib
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tools.services import SERVICE_NAMES

ENTRYPOINT_FILE_VARIABLE = re.compile(r"^(PGPASSWORD|[A-Z]+_[A-Z0-9_]*)_FILE$")


def load_settings(monkeypatch: pytest.MonkeyPatch, service: str, env: dict[str, str]) -> Any:
    prefix = f"{service.upper()}_"
    for name in list(os.environ):
        if name.startswith(prefix):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = importlib.import_module(f"{service}_service.settings")
    return module.Settings()


@pytest.fixture(scope="module")
def compose_secrets(tmp_path_factory: pytest.TempPathFactory, make_secrets: ModuleType) -> Path:
    folder = tmp_path_factory.mktemp("compose-secrets")
    make_secrets.generate(folder)
    return folder


@pytest.mark.parametrize("service", SERVICE_NAMES)
@pytest.mark.parametrize("role", ["api", "migrate"])
def test_compose_environment_loads_the_services_settings(
    compose: dict[str, Any],
    compose_secrets: Path,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    role: str,
) -> None:
    name = service if role == "api" else f"{service}-migrate"
    definition = compose["services"][name]
    files = {
        f"/run/secrets/{secret}": compose_secrets / Path(compose["secrets"][secret]["file"]).name
        for secret in compose["secrets"]
    }
    env: dict[str, str] = {}
    for key, value in definition["environment"].items():
        match = ENTRYPOINT_FILE_VARIABLE.match(key)
        if match and (key.startswith(f"{service.upper()}_") or key == "PGPASSWORD_FILE"):
            env[match[1]] = files[value].read_text().strip()  # what the entrypoint does
        else:
            env[key] = str(value)
    settings = load_settings(monkeypatch, service, env)
    assert settings.environment == "production"
    assert settings.service_name == service
    if role == "api" and service == "auth":
        assert settings.admin_password is not None


def resolve_k8s_env(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    """The container's environment as the kubelet builds it (Secrets, ConfigMaps, $(VAR))."""
    data = {}
    for obj in objects:
        if obj["kind"] == "Secret":
            data[("Secret", obj["metadata"]["name"])] = {
                k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()
            }
        if obj["kind"] == "ConfigMap":
            data[("ConfigMap", obj["metadata"]["name"])] = obj.get("data", {})
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(r"\$\(([A-Z0-9_]+)\)", lambda m: env[m[1]], item["value"])
            continue
        source = item["valueFrom"]
        if "fieldRef" in source:
            env[item["name"]] = "pod-name"
            continue
        kind, ref = (
            ("Secret", source["secretKeyRef"])
            if "secretKeyRef" in source
            else ("ConfigMap", source["configMapKeyRef"])
        )
        values = data.get((kind, ref["name"]), {})
        if ref["key"] in values:
            env[item["name"]] = values[ref["key"]]
        else:
            assert ref.get("optional"), f"{kind} {ref['name']} has no key {ref['key']}"
    return env


@pytest.mark.parametrize("service", SERVICE_NAMES)
@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_dev_overlay_environment_loads_the_services_settings(
    rendered: dict[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    kind: str,
) -> None:
    objects = rendered["dev"]
    name = service if kind == "Deployment" else f"{service}-migrate"
    (workload,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    env = resolve_k8s_env(container, objects)
    settings = load_settings(monkeypatch, service, env)
    assert settings.environment == "production"
    assert "guest" not in settings.amqp_url
    assert settings.cursor_secret.get_secret_value() == env[f"{service.upper()}_CURSOR_SECRET"]
