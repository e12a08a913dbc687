"""Domain events, framework-free: the envelope, contracts, and the outbox and inbox tables."""

from shared.events.envelope import DomainEvent, Envelope, UnsupportedEvent, parse_envelope
from shared.events.store import define_event_tables, record_event

__all__ = [
    "DomainEvent",
    "Envelope",
    "UnsupportedEvent",
    "define_event_tables",
    "parse_envelope",
    "record_event",
]
