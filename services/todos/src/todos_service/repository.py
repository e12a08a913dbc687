"""Every SQL statement of the todos service."""

import functools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Label,
    Row,
    Select,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, array, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import CompiledRead
from shared.events import DomainEvent, record_event
from shared.ownership import KnownFiles
from shared.pagination import Position
from todos_service.models import EVENT_TABLES, KNOWN_FILES, Todo, TodoAttachment
from todos_service.schemas import TodoFilters, TodoRead, TodoRow

PRODUCER = "todos"

# What a client reads of a todo, in `TodoRead`'s order; attachments are a column of their own.
_COLUMNS = (
    "id",
    "title",
    "description",
    "priority",
    "completed",
    "due_at",
    "tags",
    "attachment_ids",
    "created_at",
    "updated_at",
    "version",
)


def _attachment_ids(todo_id: ColumnElement[uuid.UUID]) -> Label[list[uuid.UUID]]:
    """The todo's attached files in the client's order, as one column: no second SELECT."""
    ordered = aggregate_order_by(TodoAttachment.file_id, TodoAttachment.position)
    return (
        select(func.coalesce(func.array_agg(ordered), array([], type_=TodoAttachment.file_id.type)))
        .where(TodoAttachment.todo_id == todo_id)
        .scalar_subquery()
        .label("attachment_ids")
    )


def _with_attachments(page: Select[Any]) -> Select[Any]:
    """`page` (rows of `todo`, in list order) with each row's attachments, in one statement."""
    rows = page.subquery("page")
    columns = (
        _attachment_ids(rows.c.id) if name == "attachment_ids" else rows.c[name]
        for name in _COLUMNS
    )
    return select(*columns).order_by(rows.c.created_at.desc(), rows.c.id.desc())


def _read(row: Mapping[str, Any]) -> TodoRead:
    # Plain rows, not ORM objects: no identity map and no unit of work on the read path.
    return TodoRead.model_validate(dict(row))


@functools.cache
def _page_shape(
    *, completed: bool, priority: bool, tag: bool, due_before: bool, after: bool, limit: int
) -> Select[Todo]:
    """The page statement for the filters that are set, with bound parameters for the values.

    The limit is written into the statement (one of at most 100 per shape): with `LIMIT $n`,
    PostgreSQL priced its generic plan at a tenth of an owner's rows, found it dearer than a
    custom one, and planned the list anew on every run, 0.5 ms of its CPU per request. With the
    number in place it keeps the generic plan after five runs.
    """
    query = (
        select(Todo)
        .where(Todo.owner_id == bindparam("owner_id", type_=Todo.owner_id.type))
        .order_by(Todo.created_at.desc(), Todo.id.desc())
        .limit(literal_column(str(int(limit)), Integer))
    )
    if completed:
        query = query.where(Todo.completed == bindparam("completed", type_=Boolean))
    if priority:
        query = query.where(Todo.priority == bindparam("priority", type_=Todo.priority.type))
    if tag:
        query = query.where(Todo.tags.contains(bindparam("tags", type_=Todo.tags.type)))
    if due_before:
        query = query.where(Todo.due_at < bindparam("due_before", type_=Todo.due_at.type))
    if after:
        query = query.where(
            tuple_(Todo.created_at, Todo.id)
            < tuple_(
                bindparam("after_created_at", type_=Todo.created_at.type),
                bindparam("after_id", type_=Todo.id.type),
            )
        )
    return query


@functools.cache
def _compiled_page(
    *, completed: bool, priority: bool, tag: bool, due_before: bool, after: bool, limit: int
) -> CompiledRead:
    shape = _page_shape(
        completed=completed,
        priority=priority,
        tag=tag,
        due_before=due_before,
        after=after,
        limit=limit,
    )
    return CompiledRead(_with_attachments(shape))


def _page_values(
    *, owner_id: uuid.UUID, filters: TodoFilters, after: Position | None, limit: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The statement's shape (which filters are set, and the limit), and its parameters' values."""
    values: dict[str, Any] = {"owner_id": owner_id}
    if filters.completed is not None:
        values["completed"] = filters.completed
    if filters.priority is not None:
        values["priority"] = filters.priority
    if filters.tag is not None:
        values["tags"] = [filters.tag]
    if filters.due_before is not None:
        values["due_before"] = filters.due_before
    if after is not None:
        values["after_created_at"], values["after_id"] = after
    shape = {
        "completed": filters.completed is not None,
        "priority": filters.priority is not None,
        "tag": filters.tag is not None,
        "due_before": filters.due_before is not None,
        "after": after is not None,
        "limit": limit,
    }
    return shape, values


def page_query(
    *, owner_id: uuid.UUID, filters: TodoFilters, after: Position | None, limit: int
) -> Select[Todo]:
    """Up to `limit` of the owner's todos matching `filters`, newest first, strictly after `after`.

    The owner and the equality filters lead an index in (created_at DESC, id DESC) order, and the
    position is a row comparison inside it: any page, however deep, is one short range scan.
    """
    shape, values = _page_values(owner_id=owner_id, filters=filters, after=after, limit=limit)
    return _page_shape(**shape).params(values)


def _one_query(*, for_update: bool) -> Select[Any]:
    query = select(Todo).where(
        Todo.id == bindparam("todo_id", type_=Todo.id.type),
        Todo.owner_id == bindparam("owner_id", type_=Todo.owner_id.type),
    )
    return _with_attachments(query.with_for_update() if for_update else query)


@functools.cache
def _one() -> CompiledRead:
    return CompiledRead(_one_query(for_update=False))


class TodoReads:
    """The todos a client reads, each in one statement on a connection of its own (no session,
    no transaction): the connection goes back to the pool as soon as the rows are in."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, *, todo_id: uuid.UUID, owner_id: uuid.UUID) -> TodoRead | None:
        """The owner's todo with its attachments; None for anyone else's."""
        rows = await _one().fetch_alone(self._sessions, todo_id=todo_id, owner_id=owner_id)
        return _read(rows[0]) if rows else None

    async def list_page(
        self, *, owner_id: uuid.UUID, filters: TodoFilters, after: Position | None, limit: int
    ) -> Sequence[TodoRow]:
        """One page of the owner's todos with their attachments (see `page_query`)."""
        shape, values = _page_values(owner_id=owner_id, filters=filters, after=after, limit=limit)
        rows = await _compiled_page(**shape).fetch_alone(self._sessions, **values)
        return [dict(row) for row in rows]


class TodoRepository:
    """Todos, their attachments and the outbox, in the caller's session and transaction."""

    def __init__(self, *, session: AsyncSession) -> None:
        self._session = session

    async def insert(self, *, owner_id: uuid.UUID, values: Mapping[str, Any]) -> uuid.UUID:
        """Insert a todo at version 1; returns its new id."""
        todo_id = uuid.uuid4()
        await self._session.execute(insert(Todo).values(id=todo_id, owner_id=owner_id, **values))
        return todo_id

    async def get(self, *, todo_id: uuid.UUID, owner_id: uuid.UUID) -> TodoRead | None:
        """The owner's todo with its attachments, in one statement; None for anyone else's."""
        rows = await _one().fetch(self._session, todo_id=todo_id, owner_id=owner_id)
        return _read(rows[0]) if rows else None

    async def lock(self, *, todo_id: uuid.UUID, owner_id: uuid.UUID) -> TodoRead | None:
        """`get` through the session (which begins the transaction), the row locked until it ends."""
        query = _one_query(for_update=True)
        values = {"todo_id": todo_id, "owner_id": owner_id}
        row = (await self._session.execute(query, values)).one_or_none()
        return None if row is None else _read(row._mapping)

    async def update(self, *, todo_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        """Set `values`, bump `version` and `updated_at`; the caller holds the row lock."""
        await self._session.execute(
            update(Todo)
            .where(Todo.id == todo_id)
            .values(**values, version=Todo.version + 1, updated_at=func.statement_timestamp())
        )

    async def delete(self, *, todo_id: uuid.UUID) -> None:
        """Delete the todo; its attachment rows go with it (ON DELETE CASCADE)."""
        await self._session.execute(delete(Todo).where(Todo.id == todo_id))

    async def delete_owned_by(self, *, owner_id: uuid.UUID) -> None:
        """Delete every todo of `owner_id`, and with them their attachment rows."""
        await self._session.execute(delete(Todo).where(Todo.owner_id == owner_id))

    async def attach(self, *, todo_id: uuid.UUID, file_ids: Sequence[uuid.UUID]) -> None:
        """Make `file_ids`, in this order, the todo's attachments."""
        await self._session.execute(delete(TodoAttachment).where(TodoAttachment.todo_id == todo_id))
        if file_ids:
            rows = [
                {"todo_id": todo_id, "file_id": file_id, "position": position}
                for position, file_id in enumerate(file_ids)
            ]
            await self._session.execute(insert(TodoAttachment).values(rows))

    async def detach_everywhere(
        self, *, file_id: uuid.UUID
    ) -> Sequence[Row[uuid.UUID, uuid.UUID, int]]:
        """Remove the file from every todo, bumping each; returns (id, owner_id, version) of those.

        Locks go in the order every writer takes them: the file (held since `bury`), the todos
        (in id order), then their attachment rows; so no two writers wait on each other in a cycle.
        """
        attached = select(TodoAttachment.todo_id).where(TodoAttachment.file_id == file_id)
        await self._session.execute(
            select(Todo.id).where(Todo.id.in_(attached)).order_by(Todo.id).with_for_update()
        )
        detached = await self._session.scalars(
            delete(TodoAttachment)
            .where(TodoAttachment.file_id == file_id)
            .returning(TodoAttachment.todo_id)
        )
        todo_ids = detached.all()
        if not todo_ids:
            return []
        bumped = await self._session.execute(
            update(Todo)
            .where(Todo.id.in_(todo_ids))
            .values(version=Todo.version + 1, updated_at=func.statement_timestamp())
            .returning(Todo.id, Todo.owner_id, Todo.version)
        )
        return bumped.all()

    async def record(self, *, event: DomainEvent) -> None:
        """Write `event` to the outbox in this transaction; it leaves only if the transaction commits."""
        await record_event(self._session, EVENT_TABLES.outbox, event, producer=PRODUCER)


class KnownFileRepository(KnownFiles):
    """The read model of which user owns which file, in the todos database."""

    def __init__(self, *, session: AsyncSession) -> None:
        super().__init__(session=session, table=KNOWN_FILES)
