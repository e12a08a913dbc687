"""Annotated dependencies of the files routes: the service, the caller's id, path ids, the form."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from files_service.components import Components
from files_service.errors import FileNotFound, NotAFileOwner, UploadInterrupted
from files_service.models import IDEMPOTENCY
from files_service.multipart import FormFile
from files_service.service import FileService
from shared.web.dependencies import SessionDep, caller_user_id, path_id
from shared.web.idempotency import IdempotentRequest, idempotency_for
from shared.web.state import components_dependency

ComponentsDep = Annotated[Components, Depends(components_dependency(Components))]


async def get_file_service(session: SessionDep, components: ComponentsDep) -> FileService:
    return FileService(
        session=session,
        storage=components.storage,
        limits=components.limits,
        cursors=components.cursors,
    )


# Only user accounts own files; a malformed file id names no file (404, not 422).
CurrentOwnerId = Annotated[uuid.UUID, Depends(caller_user_id(NotAFileOwner))]


async def upload_form(request: Request, _owner_id: CurrentOwnerId) -> FormFile:
    """The request's form, read as it streams up to the file's first byte; only once the caller
    is known (so a stranger gets 401, whatever the body)."""
    form = FormFile(content_type=request.headers.get("content-type"), body=_body(request))
    await form.start()
    return form


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise UploadInterrupted("The client stopped sending the body.") from None


FileServiceDep = Annotated[FileService, Depends(get_file_service)]
PathFileId = Annotated[uuid.UUID, Depends(path_id("file_id", FileNotFound))]
UploadForm = Annotated[FormFile, Depends(upload_form)]
Idempotent = Annotated[IdempotentRequest, Depends(idempotency_for(IDEMPOTENCY))]
