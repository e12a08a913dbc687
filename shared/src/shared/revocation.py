"""Revoked sessions, kept in each replica's memory so verifying a token costs no network trip.

The token issuer's database is the source of truth. Each replica merges a snapshot from it (the
URLs of the `REVOCATIONS_URL` setting, or the issuer's own database) at start, after every broker
reconnect and periodically, and applies `session.revoked` broadcasts in between; an entry lives
until the last access token of its session has expired anyway.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from collections.abc import Callable, Mapping, Sequence

import httpx

from shared.tokens import Principal

logger = logging.getLogger("shared.revocation")


class RevocationList:
    """Session ids whose access tokens are refused, each until a time (epoch seconds)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._until: dict[str, float] = {}
        self._clock = clock
        self.synced_at: float | None = None
        """When a snapshot from the source of truth was last merged (None: never)."""

    def revoke(self, session_id: str, until: float) -> None:
        """Refuse the session's tokens until `until`; revocations are never undone."""
        if until > self._clock():
            self._until[session_id] = max(until, self._until.get(session_id, 0.0))

    def merge_snapshot(self, entries: Mapping[str, float]) -> None:
        """Add a snapshot (a union: broadcasts that raced it are kept) and drop what expired."""
        now = self._clock()
        self._until = {sid: until for sid, until in self._until.items() if until > now}
        for session_id, until in entries.items():
            self.revoke(session_id, until)
        self.synced_at = now

    def is_revoked(self, principal: Principal) -> bool:
        """True when the token's session was revoked (and its tokens could still be live)."""
        if principal.session_id is None:
            return False
        until = self._until.get(principal.session_id)
        if until is None:
            return False
        if until <= self._clock():
            self._until.pop(principal.session_id, None)
            return False
        return True

    def __len__(self) -> int:
        return len(self._until)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Building one reads the whole CA bundle (tens of milliseconds with the event loop stalled):
    # once per process, not once per snapshot.
    return httpx.create_ssl_context()


async def fetch_snapshot(urls: Sequence[str], *, per_url_seconds: float = 3.0) -> dict[str, float]:
    """The revoked sessions from the issuer's revocation endpoint; tries each URL in turn."""
    errors: list[str] = []
    async with httpx.AsyncClient(timeout=per_url_seconds, verify=_tls_context()) as client:
        for url in urls:
            try:
                response = await client.get(url)
                response.raise_for_status()
                return {
                    str(entry["session_id"]): float(entry["expires_at"])
                    for entry in response.json()["revoked"]
                }
            except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
                errors.append(f"{url}: {exc!r}")
    raise ConnectionError("no revocation snapshot: " + "; ".join(errors))
