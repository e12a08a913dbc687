"""`suite files`: uploads and downloads, streamed, with progress bars."""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from suite_client.cli import output
from suite_client.cli.context import JsonOption, cli_of
from suite_client.models import FileRead

files = typer.Typer(help="Your files.", no_args_is_help=True)

FileId = Annotated[uuid.UUID, typer.Argument(help="The file's id (from `suite files ls`).")]

COLUMNS: list[output.Column] = [
    ("id", lambda f: f.id),
    ("name", lambda f: f.filename),
    ("type", lambda f: f.content_type),
    ("size", lambda f: f.size),
    ("uploaded", lambda f: f"{f.created_at:%Y-%m-%d %H:%M}"),
]
DETAIL_COLUMNS: list[output.Column] = [*COLUMNS, ("sha256", lambda f: f.sha256)]


def _bar(*, quiet: bool) -> Progress:
    """A byte progress bar on stderr (so stdout stays the result); hidden for --json."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=output.stderr,
        disable=quiet,
        transient=True,
    )


@files.command("upload")
def upload(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: JsonOption = False,
) -> None:
    """Upload files (streamed; safe to retry: each is sent with an Idempotency-Key)."""
    cli = cli_of(ctx)
    uploaded: list[FileRead] = []
    with cli.client() as client, _bar(quiet=cli.json(as_json)) as bar:
        for path in paths:
            task = bar.add_task(path.name, total=path.stat().st_size)
            uploaded.append(
                client.files_upload(path, progress=functools.partial(bar.advance, task))
            )
    output.show(uploaded, COLUMNS, as_json=cli.json(as_json))


@files.command("download")
def download(
    ctx: typer.Context,
    file_id: FileId,
    to: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write it (default: its name).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Download a file (streamed to disk; never left half-written)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        meta = client.files_get(file_id)
        target = to or Path(Path(meta.filename).name)
        with _bar(quiet=cli.json(as_json)) as bar:
            task = bar.add_task(meta.filename, total=meta.size)
            written = client.files_download(
                file_id, target, progress=functools.partial(bar.advance, task)
            )
    output.done(f"Wrote {written} bytes to {target}.", as_json=cli.json(as_json))


@files.command("ls")
def list_files(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Your files, newest first."""
    cli = cli_of(ctx)
    with cli.client() as client:
        page = client.files_list(limit=limit)
    output.show(page.items, COLUMNS, as_json=cli.json(as_json))


@files.command("rm")
def remove(ctx: typer.Context, file_id: FileId, as_json: JsonOption = False) -> None:
    """Delete a file."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.files_delete(file_id)
    output.done(f"File {file_id} deleted.", as_json=cli.json(as_json))
