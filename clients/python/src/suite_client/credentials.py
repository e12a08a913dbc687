"""What a client holds to act for a user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Credentials:
    """Tokens from a login. The device token outlives logouts: later logins send it."""

    access_token: str | None = None
    refresh_token: str | None = None
    device_token: str | None = None

    def signed_out(self) -> Credentials:
        return replace(self, access_token=None, refresh_token=None)


# Called with the new credentials whenever a login, refresh or logout changes them (to store them).
CredentialsListener = Callable[[Credentials], None]
