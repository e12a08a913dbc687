"""Every SQL statement of the todos service."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Label, Row, Select, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, array, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import DomainEvent, record_event
from shared.ownership import KnownFiles
from shared.pagination import Position
from todos_service.models import EVENT_TABLES, KNOWN_FILES, Todo, TodoAttachment
from todos_service.schemas import TodoFilters, TodoRead

PRODUCER = "todos"

# What a client reads of a todo, beside its attachments.
_COLUMNS = (
    "id",
    "title",
    "description",
    "priority",
    "completed",
    "due_at",
    "tags",
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
    return select(*(rows.c[name] for name in _COLUMNS), _attachment_ids(rows.c.id)).order_by(
        rows.c.created_at.desc(), rows.c.id.desc()
    )


def _read(row: Row[Any]) -> TodoRead:
    # Plain rows, not ORM objects: no identity map and no unit of work on the read path.
    return TodoRead.model_validate(row._mapping)


def page_query(
    *, owner_id: uuid.UUID, filters: TodoFilters, after: Position | None, limit: int
) -> Select[Todo]:
    """Up to `limit` of the owner's todos matching `filters`, newest first, strictly after `after`.

    The owner and the equality filters lead an index in (created_at DESC, id DESC) order, and the
    position is a row comparison inside it: any page, however deep, is one short range scan.
    """
    query = (
        select(Todo)
        .where(Todo.owner_id == owner_id)
        .order_by(Todo.created_at.desc(), Todo.id.desc())
        .limit(limit)
    )
    if filters.completed is not None:
        query = query.where(Todo.completed == filters.completed)
    if filters.priority is not None:
        query = query.where(Todo.priority == filters.priority)
    if filters.tag is not None:
        query = query.where(Todo.tags.contains([filters.tag]))
    if filters.due_before is not None:
        query = query.where(Todo.due_at < filters.due_before)
    if after is not None:
        query = query.where(tuple_(Todo.created_at, Todo.id) < tuple_(after.created_at, after.id))
    return query


class TodoRepository:
    """Todos, their attachments and the outbox, in the caller's session and transaction."""

    def __init__(self, *, session: AsyncSession) -> None:
        self._session = session

    async def insert(self, *, owner_id: uuid.UUID, values: Mapping[str, Any]) -> uuid.UUID:
        """Insert a todo at version 1; returns its new id."""
        todo_id = uuid.uuid4()
        await self._session.execute(insert(Todo).values(id=todo_id, owner_id=owner_id, **values))
        return todo_id

    async def get(
        self, *, todo_id: uuid.UUID, owner_id: uuid.UUID, for_update: bool = False
    ) -> TodoRead | None:
        """The owner's todo with its attachments, freshly read; None for anyone else's."""
        query = select(Todo).where(Todo.id == todo_id, Todo.owner_id == owner_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(_with_attachments(query))).one_or_none()
        return None if row is None else _read(row)

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

    async def list_page(
        self, *, owner_id: uuid.UUID, filters: TodoFilters, after: Position | None, limit: int
    ) -> Sequence[TodoRead]:
        """One page of the owner's todos with their attachments, in one statement."""
        query = page_query(owner_id=owner_id, filters=filters, after=after, limit=limit)
        return [_read(row) for row in await self._session.execute(_with_attachments(query))]

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
