"""The versioned JSON envelope every event travels in, and the base class of event contracts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class DomainEvent(BaseModel):
    """A fact that happened; subclasses set `type` (the routing key) and `version`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: ClassVar[str]
    version: ClassVar[int] = 1


class Envelope(BaseModel):
    """What goes on the wire: id, type, version, occurred_at, producer, data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str = Field(min_length=1, max_length=100)
    data: dict[str, Any]

    @classmethod
    def wrap(cls, event: DomainEvent, *, producer: str) -> Envelope:
        """Envelope a contract instance; the event's class decides type and version."""
        return cls(
            type=event.type,
            version=event.version,
            producer=producer,
            data=event.model_dump(mode="json"),
        )


class UnsupportedEvent(Exception):
    """A message that can never be handled here: bad JSON, unknown type or version, bad data."""


def parse_envelope(
    body: bytes, contracts: Mapping[str, type[DomainEvent]]
) -> tuple[Envelope, DomainEvent]:
    """Decode a message body into its envelope and contract; anything off is UnsupportedEvent."""
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise UnsupportedEvent(f"not an event envelope: {exc.error_count()} error(s)") from exc
    contract = contracts.get(envelope.type)
    if contract is None:
        raise UnsupportedEvent(f"no handler for event type {envelope.type!r}")
    # Changes within a version are additive, so only a different version is unreadable.
    if envelope.version != contract.version:
        raise UnsupportedEvent(
            f"{envelope.type} version {envelope.version} unsupported (expects {contract.version})"
        )
    try:
        return envelope, contract.model_validate(envelope.data)
    except ValidationError as exc:
        raise UnsupportedEvent(
            f"{envelope.type} data invalid: {exc.error_count()} error(s)"
        ) from exc
