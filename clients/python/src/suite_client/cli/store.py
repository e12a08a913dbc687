"""Where the CLI keeps its tokens: one file in the user's config directory, mode 0600."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import platformdirs

from suite_client.credentials import Credentials


class CredentialStore:
    """Credentials per gateway URL, readable and writable by the user only."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or platformdirs.user_config_path("suite")) / "credentials.json"

    def _read(self) -> dict[str, dict[str, str | None]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, url: str) -> Credentials:
        fields = self._read().get(url, {})
        return Credentials(
            access_token=fields.get("access_token"),
            refresh_token=fields.get("refresh_token"),
            device_token=fields.get("device_token"),
        )

    def save(self, url: str, credentials: Credentials) -> None:
        """Replace the file in one step, created 0600 so no other user ever reads a token."""
        data = self._read() | {url: asdict(credentials)}
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(data, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)
