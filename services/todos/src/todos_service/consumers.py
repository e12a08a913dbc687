"""Event handlers of the todos service: each calls the service layer, nothing else."""

from shared.events import DomainEvent
from shared.messaging.consumer import Handler

HANDLERS: dict[type[DomainEvent], Handler] = {}
