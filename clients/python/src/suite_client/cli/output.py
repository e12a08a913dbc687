"""What the CLI prints: readable tables by default, JSON with --json, problems on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from suite_client.problem import ProblemError

# Piped output (grep, a file) is not cut to 80 columns: rows stay whole lines.
stdout = Console(width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", 200)))
stderr = Console(stderr=True)

Column = tuple[str, Callable[[Any], object]]


def show(
    value: BaseModel | Sequence[BaseModel], columns: Sequence[Column], *, as_json: bool
) -> None:
    """Print one item (as a two-column table) or many (one row each)."""
    if as_json:
        data = (
            value.model_dump(mode="json")
            if isinstance(value, BaseModel)
            else [item.model_dump(mode="json") for item in value]
        )
        print(json.dumps(data, indent=2))  # noqa: T201 - plain JSON for pipes, no markup
        return
    if isinstance(value, BaseModel):
        table = Table(show_header=False, box=None)
        for title, read in columns:
            table.add_row(f"[bold]{title}[/]", _cell(read(value)))
    else:
        table = Table()
        for title, _ in columns:
            # An id is what the next command needs: never cut it, even in a narrow terminal.
            table.add_column(title, no_wrap=title == "id", min_width=36 if title == "id" else None)
        for item in value:
            table.add_row(*(_cell(read(item)) for _, read in columns))
    stdout.print(table)


def done(message: str, *, as_json: bool) -> None:
    """Confirm an action that returns nothing."""
    if as_json:
        print(json.dumps({"ok": True, "message": message}))  # noqa: T201
    else:
        stdout.print(message)


def problem(error: ProblemError) -> None:
    found = error.problem
    stderr.print(f"[bold red]{found.title}[/] ({found.status} {found.code}): {found.detail}")
    for item in found.errors or []:
        stderr.print(f"  {'.'.join(item.loc)}: {item.msg}")
    stderr.print(f"request id: {found.request_id}")
    if found.status == 401:
        stderr.print("Not logged in, or the session ended: run `suite login`.")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)
