"""Helpers for the services' own tests: keys and tokens, migrated and rolled-back databases, the app
in-process, bounded waits, outbox reads, a live consumer, problem+json checks. Imported by tests
only; never imports pytest."""

from shared.testing.apps import (
    all_pages,
    asgi_client,
    assert_problem,
    components_of,
    replaced_components,
    running,
    runtime_of,
)
from shared.testing.broker import LiveConsumer, consuming
from shared.testing.databases import (
    Sessions,
    apply_event,
    asyncpg_url,
    broken_outbox_write,
    count_rows,
    database_sessions,
    migrate,
    migrated_settings,
    read_outbox,
    rolled_back,
    service_settings,
)
from shared.testing.events import file_uploaded
from shared.testing.keys import SigningKey, bad_credentials
from shared.testing.waiting import eventually, free_port, never, wait_serving, wait_until

__all__ = [
    "LiveConsumer",
    "Sessions",
    "SigningKey",
    "all_pages",
    "apply_event",
    "asgi_client",
    "assert_problem",
    "asyncpg_url",
    "bad_credentials",
    "broken_outbox_write",
    "components_of",
    "consuming",
    "count_rows",
    "database_sessions",
    "eventually",
    "file_uploaded",
    "free_port",
    "migrate",
    "migrated_settings",
    "never",
    "read_outbox",
    "replaced_components",
    "rolled_back",
    "running",
    "runtime_of",
    "service_settings",
    "wait_serving",
    "wait_until",
]
