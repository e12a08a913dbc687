"""A service's handlers must match the events its queue is bound to, or it does not start."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import MetaData

from shared.contracts import UserDeleted, UserRegistered
from shared.events import define_event_tables
from shared.messaging.workers import start_event_workers
from shared.spec import ServiceSpec


async def ignore(*_: Any) -> None:
    return None


@pytest.mark.parametrize(
    "handlers",
    [{}, {UserRegistered: ignore}, {UserDeleted: ignore, UserRegistered: ignore}],
    ids=["missing", "other", "extra"],
)
def test_handlers_that_differ_from_the_consumed_events_are_refused(
    handlers: dict[Any, Any],
) -> None:
    spec = ServiceSpec(
        name="example",
        title="Example",
        description="An example.",
        migrations_dir=Path("migrations"),
        event_tables=define_event_tables(MetaData()),
        consumes=(UserDeleted,),
    )
    with pytest.raises(ValueError, match="handlers"):
        # Refused before anything starts: the runtime is never touched.
        start_event_workers(cast(Any, None), spec, handlers)
