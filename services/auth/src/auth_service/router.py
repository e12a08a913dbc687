"""HTTP routes of the auth service (thin: status codes, headers, schemas)."""

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from auth_service.dependencies import AuthServiceDep, ClientDep
from auth_service.schemas import (
    AccountCreate,
    AccountRead,
    JsonWebKeySet,
    LoginRequest,
    Me,
    PasswordChange,
    RefreshRequest,
    RevokedSessions,
    SessionRead,
    TokenPair,
)
from shared.web.auth import CurrentPrincipal

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
public_router = APIRouter(tags=["auth"])
internal_router = APIRouter(prefix="/internal/v1", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}  # RFC 6749 §5.1: token responses are never cached

_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginRequest.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "grant_type": {"type": "string", "enum": ["password"]},
                    },
                }
            },
        },
    }
}


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=AccountRead)
async def register(body: AccountCreate, service: AuthServiceDep) -> AccountRead:
    account = await service.register(data=body)
    return AccountRead(id=account.id, email=account.email, username=account.username)


@router.post("/login", response_model=TokenPair, openapi_extra=_LOGIN_BODY)
async def login(
    request: Request, response: Response, service: AuthServiceDep, client: ClientDep
) -> TokenPair:
    """JSON {username, password}, or the OAuth2 password form (Swagger's Authorize button)."""
    credentials = await _login_body(request)
    response.headers.update(NO_STORE)
    return await service.login(
        login=credentials.username, password=credentials.password, client=client
    )


@router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, response: Response, service: AuthServiceDep) -> TokenPair:
    response.headers.update(NO_STORE)
    return await service.refresh(refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, service: AuthServiceDep) -> None:
    await service.logout(principal=principal)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT)
async def logout_all(principal: CurrentPrincipal, service: AuthServiceDep) -> None:
    await service.logout_all(principal=principal)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, service: AuthServiceDep
) -> None:
    await service.change_password(
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
    )


@router.get("/sessions", response_model=list[SessionRead])
async def list_sessions(principal: CurrentPrincipal, service: AuthServiceDep) -> list[SessionRead]:
    return await service.sessions(principal=principal)


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, service: AuthServiceDep
) -> None:
    await service.revoke_session(principal=principal, session_id=session_id)


@router.get("/me", response_model=Me)
async def read_me(principal: CurrentPrincipal, service: AuthServiceDep) -> Me:
    account = await service.me(principal=principal)
    return Me(id=account.id, email=account.email, username=account.username, roles=account.roles)


@public_router.get("/.well-known/jwks.json", response_model=JsonWebKeySet)
async def read_jwks(request: Request, response: Response) -> JsonWebKeySet:
    """Every key tokens may be signed with; verifiers accept each of them."""
    response.headers["Cache-Control"] = "public, max-age=300"
    jwks: JsonWebKeySet = request.app.state.jwks
    return jwks


@internal_router.get("/revocations", response_model=RevokedSessions)
async def list_revocations(service: AuthServiceDep) -> RevokedSessions:
    """Revoked sessions whose tokens could still be live: the snapshot every replica loads."""
    snapshot = await service.revoked_snapshot()
    return RevokedSessions.model_validate(
        {"revoked": [{"session_id": s, "expires_at": t} for s, t in snapshot.items()]}
    )


async def _login_body(request: Request) -> LoginRequest:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/x-www-form-urlencoded":
            form = await request.form()
            return LoginRequest.model_validate(
                {"username": form.get("username"), "password": form.get("password")}
            )
        return LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None
