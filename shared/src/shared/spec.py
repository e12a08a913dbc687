"""What makes a service itself, known without starting anything: its name, tables, migrations and
the events it consumes. `migrate` needs only this; serving requests needs the app as well."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.events.envelope import DomainEvent
from shared.events.store import EventTables


@dataclass(frozen=True)
class ServiceSpec:
    """A service's identity; the rest of a process is the same for every service."""

    name: str
    """Its prefix under /api/v1 and its queue's name."""
    title: str
    description: str
    """What the service does, for its OpenAPI document and docs page."""
    migrations_dir: Path
    event_tables: EventTables
    consumes: Sequence[type[DomainEvent]] = ()
    """The events its queue is bound to; its handlers must cover exactly these."""
    requires_redis: bool = False
    """Redis down makes the service unready (else Redis is only reported)."""

    @property
    def routing_keys(self) -> list[str]:
        return [contract.type for contract in self.consumes]
