"""tools/services.py names every service, and the lists pyproject.toml must keep agree with it.

pyproject.toml cannot read Python, so uv, mypy and import-linter keep their own lists of the
members; each failure here names the list to edit.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tools.services import MEMBERS, SERVICE_NAMES, SERVICES, Service

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [package for _, package in MEMBERS]


def toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return toml(ROOT / "pyproject.toml")


def test_the_registry_names_every_service_folder() -> None:
    folders = {path.parent.name for path in ROOT.glob("services/*/pyproject.toml")}
    assert folders == set(SERVICE_NAMES)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_each_service_is_the_member_and_package_the_registry_says(service: Service) -> None:
    member = toml(ROOT / "services" / service.name / "pyproject.toml")
    assert member["project"]["name"] == service.distribution
    assert member["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        f"src/{service.package}"
    ]


def test_port_blocks_do_not_overlap() -> None:
    blocks = [s.port_block for s in SERVICES]
    assert len(set(blocks)) == len(blocks)
    assert all(block >= 0 for block in blocks)


def test_uv_installs_every_member_in_the_dev_environment(pyproject: dict[str, Any]) -> None:
    members = {distribution for distribution, _ in MEMBERS}
    sources = pyproject["tool"]["uv"]["sources"]
    assert set(sources) == members, "[tool.uv.sources]"
    assert all(source == {"workspace": True} for source in sources.values())
    dev = set(pyproject["dependency-groups"]["dev"])
    assert members <= dev, f"[dependency-groups] dev lacks {sorted(members - dev)}"


def test_mypy_finds_every_package_under_its_own_name(pyproject: dict[str, Any]) -> None:
    expected = [
        "shared/src",
        *(f"services/{name}/src" for name in SERVICE_NAMES),
        "clients/python/src",
    ]
    assert pyproject["tool"]["mypy"]["mypy_path"] == expected, "[tool.mypy] mypy_path"


def test_import_linter_checks_every_package(pyproject: dict[str, Any]) -> None:
    config = pyproject["tool"]["importlinter"]
    assert config["root_packages"] == PACKAGES, "[tool.importlinter] root_packages"
    service_packages = {s.package for s in SERVICES}
    for contract in config["contracts"]:
        for key in ("modules", "source_modules", "forbidden_modules", "containers"):
            named = set(contract.get(key, [])) & service_packages
            # A contract about one service names it alone; one about several names them all.
            if len(named) > 1:
                assert named == service_packages, f"{contract['name']}: {key}"
