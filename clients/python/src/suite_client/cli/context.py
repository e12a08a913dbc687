"""What every command shares: the gateway's URL, the output format, and a logged-in client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from suite_client._sync.client import SuiteClient
from suite_client.cli.store import CredentialStore

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass
class Cli:
    url: str
    as_json: bool = False
    store: CredentialStore = field(default_factory=CredentialStore)

    def client(self) -> SuiteClient:
        """A client with the stored tokens; refreshed or new tokens are stored as they come."""
        return SuiteClient(
            self.url,
            credentials=self.store.load(self.url),
            on_credentials=lambda credentials: self.store.save(self.url, credentials),
        )

    def json(self, flag: bool) -> bool:
        """--json may come before the command (`suite --json todos list`) or after it."""
        return self.as_json or flag


def cli_of(ctx: typer.Context) -> Cli:
    found = ctx.find_object(Cli)
    assert found is not None, "the app's callback sets it"
    return found
