"""Annotated dependencies of the todos routes: the service, the caller's id, the path id, If-Match."""

import uuid
from collections.abc import Set
from typing import Annotated

from fastapi import Depends, Header, Path

from shared.web.auth import CurrentPrincipal
from shared.web.dependencies import SessionDep
from todos_service.errors import NotAUser, TodoNotFound
from todos_service.etags import parse_if_match
from todos_service.service import TodoService


def get_todo_service(session: SessionDep) -> TodoService:
    return TodoService(session=session)


async def current_owner_id(principal: CurrentPrincipal) -> uuid.UUID:
    """The caller's user id: auth sets `sub` to the account's uuid; any other subject owns nothing."""
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        raise NotAUser() from None


async def path_todo_id(todo_id: Annotated[str, Path()]) -> uuid.UUID:
    """The `{todo_id}` of the path; a malformed one names no todo, so it is a 404, not a 422."""
    try:
        return uuid.UUID(todo_id)
    except ValueError:
        raise TodoNotFound() from None


async def if_match_versions(
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Set[int] | None:
    """The versions `If-Match` accepts; None when any will do (no header, or `*`)."""
    return parse_if_match(if_match)


TodoServiceDep = Annotated[TodoService, Depends(get_todo_service)]
OwnerId = Annotated[uuid.UUID, Depends(current_owner_id)]
PathTodoId = Annotated[uuid.UUID, Depends(path_todo_id)]
IfMatch = Annotated[Set[int] | None, Depends(if_match_versions)]
