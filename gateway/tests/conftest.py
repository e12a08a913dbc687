"""Fixtures shared by the gateway tests: the renderer, loaded by path, and the real nginx binary."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

RENDER_PY = Path(__file__).resolve().parents[1] / "nginx" / "render.py"


@pytest.fixture(scope="session")
def renderer() -> ModuleType:
    """render.py imported by path, the way tools use it."""
    spec = importlib.util.spec_from_file_location("gateway_render", RENDER_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail("the gateway tests run the real nginx binary; install nginx")
    return found


@pytest.fixture
def prefix_dir() -> Iterator[Path]:
    """An nginx prefix the worker processes can traverse.

    As root, nginx runs its workers as `nobody`, which cannot enter pytest's 0700 tmp_path;
    uploads spooled to client_body_temp would then fail.
    """
    path = Path(tempfile.mkdtemp(prefix="gateway-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
