"""Todos: /api/v1/todos. A change can be made conditional on the version read (If-Match)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal

from suite_client._async.base import AsyncBase
from suite_client.body import UNSET, Unset, json_body, new_idempotency_key, query_value, segment
from suite_client.models import TodoPage, TodoRead
from suite_client.operation import operation

Priority = Literal["low", "medium", "high"]


def _if_match(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{version}"'}


class AsyncTodos(AsyncBase):
    @operation("GET", "/api/v1/todos")
    async def todos_list(
        self,
        *,
        completed: bool | None = None,
        priority: Priority | None = None,
        tag: str | None = None,
        due_before: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> TodoPage:
        """One page of the caller's todos, newest first."""
        params = {
            "completed": completed,
            "priority": priority,
            "tag": tag,
            "due_before": query_value(due_before),
            "limit": limit,
            "cursor": cursor,
        }
        response = await self._send("GET", "/api/v1/todos", params=params)
        return TodoPage.model_validate_json(response.content)

    async def todos_iter(
        self,
        *,
        completed: bool | None = None,
        priority: Priority | None = None,
        tag: str | None = None,
        due_before: datetime | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[TodoRead]:
        """Every todo that matches, page after page."""
        cursor: str | None = None
        while True:
            page = await self.todos_list(
                completed=completed,
                priority=priority,
                tag=tag,
                due_before=due_before,
                limit=page_size,
                cursor=cursor,
            )
            for todo in page.items:
                yield todo
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    @operation("POST", "/api/v1/todos")
    async def todos_create(
        self,
        *,
        title: str,
        description: str | None = None,
        priority: Priority | None = None,
        due_at: datetime | None = None,
        tags: Sequence[str] | None = None,
        attachment_ids: Sequence[uuid.UUID | str] | None = None,
        idempotency_key: str | None = None,
    ) -> TodoRead:
        """Create a todo; safe to retry (one Idempotency-Key for every attempt)."""
        fields: dict[str, Any] = {
            "description": description,
            "priority": priority,
            "due_at": due_at,
            "tags": tags,
            "attachment_ids": attachment_ids,
        }
        body = json_body(title=title, **{k: v for k, v in fields.items() if v is not None})
        response = await self._send(
            "POST",
            "/api/v1/todos",
            json=body,
            headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
            retryable=True,
        )
        return TodoRead.model_validate_json(response.content)

    @operation("GET", "/api/v1/todos/{todo_id}")
    async def todos_get(self, todo_id: uuid.UUID | str) -> TodoRead:
        response = await self._send("GET", f"/api/v1/todos/{segment(todo_id)}")
        return TodoRead.model_validate_json(response.content)

    @operation("PATCH", "/api/v1/todos/{todo_id}")
    async def todos_update(
        self,
        todo_id: uuid.UUID | str,
        *,
        if_version: int | None = None,
        title: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        priority: Priority | Unset = UNSET,
        completed: bool | Unset = UNSET,
        due_at: datetime | Unset | None = UNSET,
        tags: Sequence[str] | Unset = UNSET,
        attachment_ids: Sequence[uuid.UUID | str] | Unset = UNSET,
    ) -> TodoRead:
        """Change the fields passed (None clears description and due_at). With `if_version`,
        only if nobody changed the todo since that version was read (else 412)."""
        body = json_body(
            title=title,
            description=description,
            priority=priority,
            completed=completed,
            due_at=due_at,
            tags=tags,
            attachment_ids=attachment_ids,
        )
        response = await self._send(
            "PATCH",
            f"/api/v1/todos/{segment(todo_id)}",
            json=body,
            headers=_if_match(if_version),
        )
        return TodoRead.model_validate_json(response.content)

    @operation("DELETE", "/api/v1/todos/{todo_id}")
    async def todos_delete(
        self, todo_id: uuid.UUID | str, *, if_version: int | None = None
    ) -> None:
        await self._send(
            "DELETE", f"/api/v1/todos/{segment(todo_id)}", headers=_if_match(if_version)
        )

    @operation("GET", "/api/v1/todos/ping")
    async def todos_ping(self) -> dict[str, Any]:
        response = await self._send("GET", "/api/v1/todos/ping")
        return dict(response.json())
