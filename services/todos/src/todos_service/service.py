"""The rules of todos; one commit per use case, and no web framework."""

import uuid
from collections.abc import Sequence, Set
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import TodoCreated, TodoDeleted, TodoUpdated
from shared.pagination import CursorCodec, Page, Position, paginate
from todos_service.errors import InvalidAttachment, TodoNotFound, VersionMismatch
from todos_service.repository import KnownFileRepository, TodoReads, TodoRepository
from todos_service.schemas import TodoCreate, TodoFilters, TodoRead, TodoRow, TodoUpdate

ATTACHMENTS = "attachment_ids"


class TodoQueries:
    """Reads a user's todos: each read is one statement, outside any transaction."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], cursors: CursorCodec) -> None:
        self._cursors = cursors
        self._todos = TodoReads(sessions=sessions)

    async def get_todo(self, *, owner_id: uuid.UUID, todo_id: uuid.UUID) -> TodoRead:
        """The caller's own todo; anyone else's is not found, never forbidden."""
        todo = await self._todos.get(todo_id=todo_id, owner_id=owner_id)
        if todo is None:
            raise TodoNotFound()
        return todo

    async def list_todos(
        self, *, owner_id: uuid.UUID, filters: TodoFilters, limit: int, cursor: str | None
    ) -> Page[TodoRow]:
        """Newest first by (created_at, id), strictly after the cursor's row: no overlap, no shift.

        A cursor is valid only with the filters it was issued for."""

        async def fetch(after: Position | None, count: int) -> Sequence[TodoRow]:
            return await self._todos.list_page(
                owner_id=owner_id, filters=filters, after=after, limit=count
            )

        return await paginate(
            fetch, cursors=self._cursors, cursor=cursor, limit=limit, scope=repr(filters)
        )


class TodoService:
    """Creates, edits and deletes a user's todos; events leave through the outbox."""

    def __init__(self, *, session: AsyncSession) -> None:
        self._session = session
        self._todos = TodoRepository(session=session)
        self._files = KnownFileRepository(session=session)

    async def create_todo(self, *, owner_id: uuid.UUID, new: TodoCreate) -> TodoRead:
        """Only the owner's live files attach; a todo starts at version 1, with `todo.created`."""
        refused = await self._lock_attachable(owner_id=owner_id, file_ids=new.attachment_ids)
        if refused:
            raise refused
        values = new.model_dump(exclude={ATTACHMENTS})
        todo_id = await self._todos.insert(owner_id=owner_id, values=values)
        await self._todos.attach(todo_id=todo_id, file_ids=new.attachment_ids)
        todo = await self._load(todo_id=todo_id, owner_id=owner_id)
        await self._todos.record(
            event=TodoCreated(
                todo_id=todo.id,
                owner_id=owner_id,
                title=todo.title,
                attachment_ids=new.attachment_ids,
            )
        )
        await self._session.commit()
        return todo

    async def update_todo(
        self,
        *,
        owner_id: uuid.UUID,
        todo_id: uuid.UUID,
        update: TodoUpdate,
        if_match: Set[int] | None,
    ) -> TodoRead:
        """Sent fields change at an `if_match` version; a real change bumps it, with `todo.updated`."""
        sent: dict[str, Any] = {name: getattr(update, name) for name in update.model_fields_set}
        refused = None
        if ATTACHMENTS in sent:
            # Files before the todo: the order `file.deleted` takes its locks in too.
            refused = await self._lock_attachable(owner_id=owner_id, file_ids=sent[ATTACHMENTS])
        todo = await self._lock(todo_id=todo_id, owner_id=owner_id, if_match=if_match)
        if refused:
            raise refused
        changed = [name for name in TodoUpdate.model_fields if name in sent]
        changed = [name for name in changed if getattr(todo, name) != sent[name]]
        if not changed:
            # Nothing happened, so no new version and no event; committing releases the locks.
            await self._session.commit()
            return todo
        if ATTACHMENTS in changed:
            await self._todos.attach(todo_id=todo_id, file_ids=sent[ATTACHMENTS])
        values = {name: sent[name] for name in changed if name != ATTACHMENTS}
        await self._todos.update(todo_id=todo_id, values=values)
        todo = await self._load(todo_id=todo_id, owner_id=owner_id)
        await self._todos.record(
            event=TodoUpdated(
                todo_id=todo_id, owner_id=owner_id, todo_version=todo.version, changed=changed
            )
        )
        await self._session.commit()
        return todo

    async def delete_todo(
        self, *, owner_id: uuid.UUID, todo_id: uuid.UUID, if_match: Set[int] | None
    ) -> None:
        """Deleted once, at an `if_match` version, with `todo.deleted`; then it is not found."""
        await self._lock(todo_id=todo_id, owner_id=owner_id, if_match=if_match)
        await self._todos.delete(todo_id=todo_id)
        await self._todos.record(event=TodoDeleted(todo_id=todo_id, owner_id=owner_id))
        await self._session.commit()

    async def _load(self, *, todo_id: uuid.UUID, owner_id: uuid.UUID) -> TodoRead:
        todo = await self._todos.get(todo_id=todo_id, owner_id=owner_id)
        if todo is None:
            raise TodoNotFound()
        return todo

    async def _lock(
        self, *, todo_id: uuid.UUID, owner_id: uuid.UUID, if_match: Set[int] | None
    ) -> TodoRead:
        """The owner's todo, row-locked until commit, at an `if_match` version (else 404, 412)."""
        # Concurrent writers with one ETag queue on the lock; all but the first see a new version.
        todo = await self._todos.lock(todo_id=todo_id, owner_id=owner_id)
        if todo is None:
            raise TodoNotFound()
        if if_match is not None and todo.version not in if_match:
            raise VersionMismatch()
        return todo

    async def _lock_attachable(
        self, *, owner_id: uuid.UUID, file_ids: Sequence[uuid.UUID]
    ) -> InvalidAttachment | None:
        """The error to raise unless every file is a live file of the owner (locked FOR SHARE)."""
        usable = await self._files.lock_usable(owner_id=owner_id, file_ids=file_ids)
        refused = [(n, file_id) for n, file_id in enumerate(file_ids) if file_id not in usable]
        if not refused:
            return None
        return InvalidAttachment(
            file_ids=[file_id for _, file_id in refused], positions=[n for n, _ in refused]
        )


class ForeignEventsService:
    """Applies other services' events: the read model of files, attachments, deleted users.

    Runs in the consumer's transaction (committed together with its inbox row): never commits.
    """

    def __init__(self, *, session: AsyncSession) -> None:
        self._todos = TodoRepository(session=session)
        self._files = KnownFileRepository(session=session)

    async def file_uploaded(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None:
        """An uploaded file becomes attachable by its owner, unless a tombstone says it is gone."""
        await self._files.add(file_id=file_id, owner_id=owner_id)

    async def file_deleted(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None:
        """A deleted file is tombstoned and leaves every todo, each bumped with its `todo.updated`."""
        await self._files.bury(file_id=file_id, owner_id=owner_id)
        for todo_id, todo_owner_id, version in await self._todos.detach_everywhere(file_id=file_id):
            await self._todos.record(
                event=TodoUpdated(
                    todo_id=todo_id,
                    owner_id=todo_owner_id,
                    todo_version=version,
                    changed=[ATTACHMENTS],
                )
            )

    async def user_deleted(self, *, user_id: uuid.UUID) -> None:
        """A deleted user's todos, attachments and files go, silently: `user.deleted` says it all."""
        await self._todos.delete_owned_by(owner_id=user_id)
        await self._files.delete_owned_by(owner_id=user_id)
