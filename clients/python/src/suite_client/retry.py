"""When a request is sent again, and after how long."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

# Answers that mean "this replica could not serve it now": another try may succeed.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential back-off; a server's Retry-After wins when it is sooner
    than `max_delay`."""

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0

    def may_retry(self, attempt: int) -> bool:
        return attempt + 1 < self.attempts

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        backoff: float = min(self.base_delay * 2**attempt, self.max_delay)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after is not None and retry_after.isdigit():
            return min(float(retry_after), self.max_delay)
        return backoff


def never_sent(error: httpx.TransportError) -> bool:
    """The request cannot have reached the server: safe to send again whatever its method."""
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
