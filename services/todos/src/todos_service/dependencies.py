"""Annotated dependencies of the todos routes: the service, the caller's id, the path id, If-Match."""

import uuid
from collections.abc import Set
from typing import Annotated

from fastapi import Depends, Header, Request

from shared.web.dependencies import SessionDep, caller_user_id, path_id, query_model
from shared.web.idempotency import IdempotentRequest, idempotency_for
from shared.web.state import components_of, request_runtime
from todos_service.components import Components
from todos_service.errors import NotAUser, TodoNotFound
from todos_service.etags import parse_if_match
from todos_service.models import IDEMPOTENCY
from todos_service.schemas import TodoListParams
from todos_service.service import TodoQueries, TodoService


async def get_todo_service(session: SessionDep) -> TodoService:
    return TodoService(session=session)


async def get_todo_queries(request: Request) -> TodoQueries:
    # The session factory, looked up per request: tests swap it for one bound to their transaction.
    # Read here, not through two more dependencies: the list is the hottest route.
    cursors = components_of(request, Components).cursors
    return TodoQueries(sessions=request_runtime(request).sessions, cursors=cursors)


async def if_match_versions(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Set[int] | None:
    """The versions `If-Match` accepts; None when any will do (no header, or `*`)."""
    return parse_if_match(if_match)


TodoServiceDep = Annotated[TodoService, Depends(get_todo_service)]
TodoQueriesDep = Annotated[TodoQueries, Depends(get_todo_queries)]
# Only user accounts have todos; a malformed todo id names no todo (404, not 422).
OwnerId = Annotated[uuid.UUID, Depends(caller_user_id(NotAUser))]
PathTodoId = Annotated[uuid.UUID, Depends(path_id("todo_id", TodoNotFound))]
ListParams = Annotated[TodoListParams, Depends(query_model(TodoListParams))]
IfMatch = Annotated[Set[int] | None, Depends(if_match_versions)]
Idempotent = Annotated[IdempotentRequest, Depends(idempotency_for(IDEMPOTENCY))]
