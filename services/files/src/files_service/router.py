"""HTTP routes of the files service (thin: status codes, headers, schemas)."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from files_service.dependencies import (
    CurrentOwnerId,
    FileServiceDep,
    Idempotent,
    PathFileId,
    UploadForm,
)
from files_service.downloads import plan_download
from files_service.schemas import FilePage, FileRead
from shared.idempotency import Replayed
from shared.web.openapi import problems, with_headers

router = APIRouter(prefix="/api/v1/files", tags=["files"])

_DOWNLOAD_HEADERS: dict[str, Any] = {
    name: {"description": text, "schema": {"type": "string"}}
    for name, text in {
        "ETag": "The SHA-256 of the content, for If-None-Match and If-Range.",
        "Content-Disposition": "attachment, with the stored filename (RFC 6266).",
        "Accept-Ranges": "bytes: single ranges are served.",
    }.items()
}

# The body is parsed by hand as it streams, so OpenAPI is told its shape here.
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_BODY,
    operation_id="files_upload",
    response_model=FileRead,
    responses={
        **with_headers(
            201,
            Location="Where the new file's metadata lives.",
            Idempotent_Replayed="true when this is the stored answer to an earlier upload "
            "with the same Idempotency-Key.",
        ),
        **problems(
            400,
            403,
            409,
            413,
            415,
            422,
            codes={
                400: ["malformed_multipart", "upload_interrupted", "invalid_idempotency_key"],
                403: ["forbidden"],
                409: ["idempotency_key_in_progress"],
                413: ["file_too_large", "quota_exceeded", "fields_too_large"],
                415: ["unsupported_media_type"],
                422: ["missing_file", "too_many_files", "idempotency_key_reused"],
            },
        ),
    },
)
async def upload_file(
    form: UploadForm,
    owner_id: CurrentOwnerId,
    service: FileServiceDep,
    response: Response,
    idempotent: Idempotent,
) -> FileRead | JSONResponse:
    # What the upload is (its bytes) is known only once it has streamed: claimed then.
    claim = idempotent.claim_later(scope=str(owner_id))
    try:
        file = await service.upload_file(
            owner_id=owner_id, filename=form.filename, chunks=form.chunks(), claim=claim
        )
    except Replayed as replayed:
        return idempotent.answer(replayed)
    response.headers["Location"] = f"{router.prefix}/{file.id}"
    created = FileRead.model_validate(file)
    await idempotent.remember(status=201, body=created, headers=response.headers)
    return created


@router.get(
    "",
    operation_id="files_list",
    responses=problems(400, 403, codes={400: ["invalid_cursor"], 403: ["forbidden"]}),
)
async def list_files(
    owner_id: CurrentOwnerId,
    service: FileServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query()] = None,
) -> FilePage:
    page = await service.list_files(owner_id=owner_id, limit=limit, cursor=cursor)
    return FilePage(
        items=[FileRead.model_validate(f) for f in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{file_id}",
    operation_id="files_get",
    responses=problems(403, 404, codes={403: ["forbidden"]}),
)
async def get_file(
    owner_id: CurrentOwnerId, file_id: PathFileId, service: FileServiceDep
) -> FileRead:
    return FileRead.model_validate(await service.get_file(owner_id=owner_id, file_id=file_id))


@router.get(
    "/{file_id}/content",
    response_class=StreamingResponse,
    operation_id="files_download",
    responses={
        200: {
            "description": "The file's bytes, with its detected content type.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "headers": _DOWNLOAD_HEADERS,
        },
        206: {
            "description": "The one byte range asked for.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "headers": {
                **_DOWNLOAD_HEADERS,
                "Content-Range": {
                    "description": "Which bytes, of how many.",
                    "schema": {"type": "string"},
                },
            },
        },
        304: {"description": "The copy the client holds (If-None-Match) is current."},
        **problems(403, 404, 416, codes={403: ["forbidden"], 416: ["range_not_satisfiable"]}),
    },
)
async def download_file(
    owner_id: CurrentOwnerId,
    file_id: PathFileId,
    service: FileServiceDep,
    range_header: Annotated[str | None, Header(alias="range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    file = await service.get_file(owner_id=owner_id, file_id=file_id)
    plan = plan_download(
        size=file.size,
        sha256=file.sha256,
        filename=file.filename,
        range_header=range_header,
        if_none_match=if_none_match,
        if_range=if_range,
    )
    if plan.status == status.HTTP_304_NOT_MODIFIED:
        return Response(status_code=plan.status, headers=plan.headers)
    chunks = await service.read_content(file=file, start=plan.start, stop=plan.stop)
    return StreamingResponse(
        chunks, status_code=plan.status, headers=plan.headers, media_type=file.content_type
    )


@router.delete(
    "/{file_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="files_delete",
    responses=problems(403, 404, codes={403: ["forbidden"]}),
)
async def delete_file(
    owner_id: CurrentOwnerId, file_id: PathFileId, service: FileServiceDep
) -> None:
    await service.delete_file(owner_id=owner_id, file_id=file_id)
