"""HTTP routes of the todos service (thin: status codes, headers, schemas).

Every response carrying one todo carries its ETag, the strong tag of its version (`"3"`).
"""

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from shared.web.openapi import problems, with_headers
from shared.web.responses import RowsJSONResponse
from todos_service.dependencies import (
    Idempotent,
    IfMatch,
    ListParams,
    OwnerId,
    PathTodoId,
    TodoQueriesDep,
    TodoServiceDep,
)
from todos_service.etags import etag
from todos_service.schemas import (
    TodoCreate,
    TodoPage,
    TodoRead,
    TodoUpdate,
)

PREFIX = "/api/v1/todos"

router = APIRouter(prefix=PREFIX, tags=["todos"])

ETAG = "The todo's version as a strong tag: send it back in If-Match to change the todo."
# Every route: only user accounts have todos.
_NOT_A_USER = {403: ["forbidden"]}
_INVALID = {422: ["validation_failed", "invalid_attachment"]}
_IDEMPOTENCY = {
    400: ["invalid_idempotency_key"],
    409: ["idempotency_key_in_progress"],
    422: ["validation_failed", "invalid_attachment", "idempotency_key_reused"],
}


def _one(todo: TodoRead, response: Response) -> TodoRead:
    response.headers["ETag"] = etag(todo.version)
    return todo


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="todos_create",
    response_model=TodoRead,
    responses={
        **with_headers(
            201,
            Location="Where the new todo lives.",
            ETag=ETAG,
            Idempotent_Replayed="true when this is the stored answer to an earlier request "
            "with the same Idempotency-Key.",
        ),
        **problems(400, 403, 409, 422, codes=_NOT_A_USER | _INVALID | _IDEMPOTENCY),
    },
)
async def create_todo(
    owner_id: OwnerId,
    body: TodoCreate,
    service: TodoServiceDep,
    response: Response,
    idempotent: Idempotent,
) -> TodoRead | JSONResponse:
    if replayed := await idempotent.replay(scope=str(owner_id), body=body):
        return replayed
    todo = await service.create_todo(owner_id=owner_id, new=body)
    response.headers["Location"] = f"{PREFIX}/{todo.id}"
    created = _one(todo, response)
    await idempotent.remember(status=201, body=created, headers=response.headers)
    return created


@router.get(
    "",
    operation_id="todos_list",
    response_model=TodoPage,
    responses=problems(400, 403, codes=_NOT_A_USER | {400: ["invalid_cursor"]}),
)
async def list_todos(
    owner_id: OwnerId, queries: TodoQueriesDep, params: ListParams
) -> RowsJSONResponse:
    page = await queries.list_todos(
        owner_id=owner_id, filters=params.filters(), limit=params.limit, cursor=params.cursor
    )
    return RowsJSONResponse({"items": page.items, "next_cursor": page.next_cursor})


@router.get(
    "/{todo_id}",
    operation_id="todos_get",
    responses={**with_headers(200, ETag=ETAG), **problems(403, 404, codes=_NOT_A_USER)},
)
async def get_todo(
    owner_id: OwnerId, todo_id: PathTodoId, queries: TodoQueriesDep, response: Response
) -> TodoRead:
    return _one(await queries.get_todo(owner_id=owner_id, todo_id=todo_id), response)


@router.patch(
    "/{todo_id}",
    operation_id="todos_update",
    responses={
        **with_headers(200, ETag=ETAG),
        **problems(403, 404, 412, 422, codes=_NOT_A_USER | _INVALID),
    },
)
async def update_todo(
    owner_id: OwnerId,
    todo_id: PathTodoId,
    body: TodoUpdate,
    if_match: IfMatch,
    service: TodoServiceDep,
    response: Response,
) -> TodoRead:
    todo = await service.update_todo(
        owner_id=owner_id, todo_id=todo_id, update=body, if_match=if_match
    )
    return _one(todo, response)


@router.delete(
    "/{todo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="todos_delete",
    responses=problems(403, 404, 412, codes=_NOT_A_USER),
)
async def delete_todo(
    owner_id: OwnerId, todo_id: PathTodoId, if_match: IfMatch, service: TodoServiceDep
) -> None:
    await service.delete_todo(owner_id=owner_id, todo_id=todo_id, if_match=if_match)
