"""The table columns the commands share."""

from __future__ import annotations

from suite_client.cli import output

SESSION_COLUMNS: list[output.Column] = [
    ("id", lambda s: s.id),
    ("current", lambda s: s.current),
    ("created", lambda s: f"{s.created_at:%Y-%m-%d %H:%M}"),
    ("last used", lambda s: f"{s.last_used_at:%Y-%m-%d %H:%M}"),
    ("ip", lambda s: s.ip),
    ("client", lambda s: s.user_agent),
]

EVENT_COLUMNS: list[output.Column] = [
    ("when", lambda e: f"{e.created_at:%Y-%m-%d %H:%M:%S}"),
    ("type", lambda e: e.type),
    ("reason", lambda e: e.reason),
    ("user", lambda e: e.user_id),
    ("by admin", lambda e: e.actor_id),
    ("ip", lambda e: e.ip),
]
