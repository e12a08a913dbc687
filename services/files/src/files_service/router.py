"""HTTP routes of the files service (thin: status codes, headers, schemas)."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import StreamingResponse

from files_service.dependencies import CurrentOwnerId, FileServiceDep, PathFileId, UploadForm
from files_service.downloads import plan_download
from files_service.schemas import FilePage, FileRead

router = APIRouter(prefix="/api/v1/files", tags=["files"])

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


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=_UPLOAD_BODY)
async def upload_file(
    form: UploadForm, owner_id: CurrentOwnerId, service: FileServiceDep, response: Response
) -> FileRead:
    file = await service.upload_file(
        owner_id=owner_id, filename=form.filename, chunks=form.chunks()
    )
    response.headers["Location"] = f"{router.prefix}/{file.id}"
    return FileRead.model_validate(file)


@router.get("")
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


@router.get("/{file_id}")
async def get_file(
    owner_id: CurrentOwnerId, file_id: PathFileId, service: FileServiceDep
) -> FileRead:
    return FileRead.model_validate(await service.get_file(owner_id=owner_id, file_id=file_id))


@router.get("/{file_id}/content", response_class=StreamingResponse)
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


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_file(
    owner_id: CurrentOwnerId, file_id: PathFileId, service: FileServiceDep
) -> None:
    await service.delete_file(owner_id=owner_id, file_id=file_id)
