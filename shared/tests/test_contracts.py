"""Event contracts change only additively: their JSON Schemas are pinned by snapshots."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.contracts import ALL_CONTRACTS
from shared.events import DomainEvent

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.type)
def test_contract_schema_matches_its_snapshot(contract: type[DomainEvent]) -> None:
    schema = {"type": contract.type, "version": contract.version, **contract.model_json_schema()}
    path = SNAPSHOTS / f"{contract.type}.v{contract.version}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no snapshot for {contract.type}: run with UPDATE_SNAPSHOTS=1 once"
    recorded = json.loads(path.read_text())
    # Additive changes are allowed: every recorded field must still be there, with its type.
    for field, spec in recorded["properties"].items():
        assert schema["properties"].get(field) == spec, f"{contract.type}: {field} changed"
    # A new required field would reject events from producers not yet upgraded.
    assert set(schema.get("required", [])) <= set(recorded.get("required", []))


def test_routing_keys_are_unique() -> None:
    types = [contract.type for contract in ALL_CONTRACTS]
    assert len(types) == len(set(types))
