"""Device tokens, after OWASP's device cookies: a client that has logged in to an account before
carries proof of it, so guessing at that account from elsewhere never locks that client out.

A token names the account and a random device id, with the time it was issued, signed with the
service's secret (HMAC-SHA256); nothing is stored. A forged, edited, expired or other account's
token is simply not a device token: the login is then throttled like any unknown client's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

VERSION = "d1"
MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True)
class Device:
    """A client known to an account."""

    account_id: uuid.UUID
    device_id: str


class DeviceTokens:
    """Issues and reads device tokens; the secret must be the same on every replica."""

    def __init__(
        self, secret: bytes, *, ttl_seconds: int, now: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the device token secret needs at least 16 bytes")
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._now = now

    def issue(self, *, account_id: uuid.UUID, device_id: str | None = None) -> str:
        """A token for this account, for a known device (renewed) or a new one."""
        device_id = device_id or secrets.token_urlsafe(16)
        payload = f"{VERSION}.{account_id.hex}.{device_id}.{int(self._now())}"
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str | None) -> Device | None:
        """The device a genuine, unexpired token names; None for anything else."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return None
        payload, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            return None
        version, account_hex, device_id, issued = payload.split(".")
        if version != VERSION or int(issued) + self.ttl_seconds < self._now():
            return None
        return Device(account_id=uuid.UUID(hex=account_hex), device_id=device_id)

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
