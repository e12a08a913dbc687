"""Annotated dependencies of the auth service's routes."""

from typing import Annotated

from fastapi import Depends, Request

from auth_service.service import AuthComponents, AuthService, ClientInfo
from shared.web.dependencies import SessionDep


def get_components(request: Request) -> AuthComponents:
    components: AuthComponents = request.app.state.auth
    return components


ComponentsDep = Annotated[AuthComponents, Depends(get_components)]


def get_auth_service(db: SessionDep, parts: ComponentsDep) -> AuthService:
    return AuthService(db=db, parts=parts)


def get_client(request: Request, parts: ComponentsDep) -> ClientInfo:
    return ClientInfo.from_request_parts(
        peer=request.client.host if request.client else None,
        forwarded_for=request.headers.get("x-forwarded-for"),
        user_agent=request.headers.get("user-agent"),
        trusted_proxies=parts.trusted_proxies,
    )


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
ClientDep = Annotated[ClientInfo, Depends(get_client)]
