"""Annotated dependencies of the files routes: the service, the caller's id, path ids, the form."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.requests import ClientDisconnect

from files_service.errors import FileNotFound, NotAFileOwner, UploadInterrupted
from files_service.multipart import FormFile
from files_service.service import FileService
from shared.web.auth import CurrentPrincipal
from shared.web.dependencies import SessionDep


def get_file_service(request: Request, session: SessionDep) -> FileService:
    state = request.app.state
    return FileService(session=session, storage=state.storage, limits=state.upload_limits)


async def current_owner_id(principal: CurrentPrincipal) -> uuid.UUID:
    """The caller's user id: auth sets `sub` to the account's uuid; another subject owns no files."""
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        raise NotAFileOwner() from None


async def path_file_id(file_id: Annotated[str, Path()]) -> uuid.UUID:
    """The `{file_id}` of the path; a malformed one names no file, so it is a 404, not a 422."""
    try:
        return uuid.UUID(file_id)
    except ValueError:
        raise FileNotFound() from None


CurrentOwnerId = Annotated[uuid.UUID, Depends(current_owner_id)]


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
PathFileId = Annotated[uuid.UUID, Depends(path_file_id)]
UploadForm = Annotated[FormFile, Depends(upload_form)]
