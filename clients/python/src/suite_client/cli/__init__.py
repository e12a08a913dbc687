"""`suite`: exits 1 with the problem's title, detail and request id when the API says no."""

from __future__ import annotations

import httpx

from suite_client.cli import output
from suite_client.cli.app import app
from suite_client.problem import ProblemError


def main() -> None:
    try:
        app()
    except ProblemError as error:
        output.problem(error)
        raise SystemExit(1) from None
    except httpx.TransportError as error:
        output.stderr.print(f"[bold red]Cannot reach the suite[/]: {error!r}")
        raise SystemExit(2) from None
