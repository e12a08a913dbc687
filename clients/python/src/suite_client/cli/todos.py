"""`suite todos`: the caller's todos."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import typer

from suite_client.body import UNSET
from suite_client.cli import output
from suite_client.cli.context import JsonOption, cli_of
from suite_client.models import TodoRead

todos = typer.Typer(help="Your todos.", no_args_is_help=True)

Priority = Literal["low", "medium", "high"]
TodoId = Annotated[uuid.UUID, typer.Argument(help="The todo's id (from `suite todos list`).")]
Due = Annotated[
    datetime | None, typer.Option(help="When it is due (ISO 8601, with a timezone offset).")
]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat for more).")]

COLUMNS: list[output.Column] = [
    ("id", lambda t: t.id),
    ("title", lambda t: t.title),
    ("priority", lambda t: t.priority),
    ("done", lambda t: t.completed),
    ("due", lambda t: t.due_at),
    ("tags", lambda t: t.tags),
]
DETAIL_COLUMNS: list[output.Column] = [
    *COLUMNS,
    ("description", lambda t: t.description),
    ("attachments", lambda t: t.attachment_ids),
    ("version", lambda t: t.version),
    ("updated", lambda t: t.updated_at),
]


@todos.command("list")
def list_todos(
    ctx: typer.Context,
    completed: Annotated[
        bool | None, typer.Option("--done/--open", help="Only done, or only open, todos.")
    ] = None,
    priority: Annotated[Priority | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Your todos, newest first."""
    cli = cli_of(ctx)
    found: list[TodoRead] = []
    with cli.client() as client:
        for todo in client.todos_iter(
            completed=completed, priority=priority, tag=tag, page_size=min(limit, 100)
        ):
            found.append(todo)
            if len(found) == limit:
                break
    output.show(found, COLUMNS, as_json=cli.json(as_json))


@todos.command("add")
def add_todo(
    ctx: typer.Context,
    title: str,
    description: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[Priority | None, typer.Option()] = None,
    due: Due = None,
    tag: Tags = None,
    attach: Annotated[
        list[uuid.UUID] | None, typer.Option(help="An uploaded file's id (repeat for more).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a todo (safe to retry: it is sent with an Idempotency-Key)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        todo = client.todos_create(
            title=title,
            description=description,
            priority=priority,
            due_at=due,
            tags=tag,
            attachment_ids=attach,
        )
    output.show(todo, DETAIL_COLUMNS, as_json=cli.json(as_json))


@todos.command("show")
def show_todo(ctx: typer.Context, todo_id: TodoId, as_json: JsonOption = False) -> None:
    """One todo, whole."""
    cli = cli_of(ctx)
    with cli.client() as client:
        todo = client.todos_get(todo_id)
    output.show(todo, DETAIL_COLUMNS, as_json=cli.json(as_json))


@todos.command("done")
def complete_todo(
    ctx: typer.Context,
    todo_id: TodoId,
    undo: Annotated[bool, typer.Option("--undo", help="Mark it open again.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Mark a todo done."""
    cli = cli_of(ctx)
    with cli.client() as client:
        todo = client.todos_update(todo_id, completed=not undo)
    output.show(todo, DETAIL_COLUMNS, as_json=cli.json(as_json))


@todos.command("edit")
def edit_todo(
    ctx: typer.Context,
    todo_id: TodoId,
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[Priority | None, typer.Option()] = None,
    due: Due = None,
    tag: Tags = None,
    as_json: JsonOption = False,
) -> None:
    """Change what is given; the change applies only to the version just read (If-Match)."""
    cli = cli_of(ctx)
    with cli.client() as client:
        current = client.todos_get(todo_id)
        todo = client.todos_update(
            todo_id,
            if_version=current.version,
            title=title if title is not None else UNSET,
            description=description if description is not None else UNSET,
            priority=priority if priority is not None else UNSET,
            due_at=due if due is not None else UNSET,
            tags=tag if tag is not None else UNSET,
        )
    output.show(todo, DETAIL_COLUMNS, as_json=cli.json(as_json))


@todos.command("rm")
def remove_todo(ctx: typer.Context, todo_id: TodoId, as_json: JsonOption = False) -> None:
    """Delete a todo."""
    cli = cli_of(ctx)
    with cli.client() as client:
        client.todos_delete(todo_id)
    output.done(f"Todo {todo_id} deleted.", as_json=cli.json(as_json))
