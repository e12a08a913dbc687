"""HTTP routes of the auth service (thin: status codes, headers, schemas)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from auth_service.components import Components
from auth_service.dependencies import (
    AccountServiceDep,
    ClientDep,
    ComponentsDep,
    Idempotent,
    LoginServiceDep,
    RecoveryDep,
    SessionServiceDep,
    VerificationDep,
)
from auth_service.schemas import (
    AccountCreate,
    AccountRead,
    EmailTokenBody,
    JsonWebKeySet,
    LoginRequest,
    LoginTokens,
    Me,
    MfaLogin,
    PasswordChange,
    PasswordForgot,
    PasswordReset,
    RefreshRequest,
    RevokedSessions,
    SessionRead,
    TokenPair,
)
from auth_service.service import IssuedTokens
from shared.web.auth import CurrentPrincipal
from shared.web.dependencies import no_store
from shared.web.openapi import problems, with_headers

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
public_router = APIRouter(tags=["auth"])
internal_router = APIRouter(prefix="/internal/v1", include_in_schema=False)

DEVICE_COOKIE = "device_token"
# Tokens (RFC 6749 5.1) and personal data are answered with Cache-Control: no-store.
PRIVATE = [Depends(no_store)]

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
                        "device_token": {"type": "string"},
                    },
                }
            },
        },
    }
}


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountRead,
    operation_id="auth_register",
    responses={
        **with_headers(201, Idempotent_Replayed="true when this is the stored answer."),
        **problems(
            400,
            409,
            422,
            429,
            503,
            codes={
                400: ["invalid_idempotency_key"],
                409: ["email_taken", "username_taken", "idempotency_key_in_progress"],
                422: ["validation_failed", "weak_password", "idempotency_key_reused"],
                429: ["rate_limited"],
                503: ["busy"],
            },
        ),
    },
)
async def register(
    body: AccountCreate, service: AccountServiceDep, client: ClientDep, idempotent: Idempotent
) -> AccountRead | JSONResponse:
    # Nobody is signed in yet: keys belong to the client's address.
    scope = f"address:{client.address}"
    if replayed := await idempotent.replay(scope=scope, body=body, secret=frozenset({"password"})):
        return replayed
    account = await service.register(
        email=body.email, username=body.username, password=body.password
    )
    created = AccountRead(id=account.id, email=account.email, username=account.username)
    await idempotent.remember(status=201, body=created, headers={})
    return created


@router.post(
    "/login",
    response_model=LoginTokens,
    openapi_extra=_LOGIN_BODY,
    dependencies=PRIVATE,
    operation_id="auth_login",
    responses={
        **with_headers(
            200,
            Set_Cookie="device_token: this client, known to the account.",
            RateLimit_Policy='The budget of wrong passwords: "failures";q=5;w=900.',
            RateLimit='What is left of it and when it is whole again: "failures";r=5;t=0.',
        ),
        **problems(
            401,
            403,
            422,
            429,
            503,
            codes={
                401: ["invalid_credentials", "mfa_required"],
                403: ["email_not_verified", "account_disabled"],
                429: ["too_many_attempts", "rate_limited"],
                503: ["busy"],
            },
        ),
    },
)
async def login(
    request: Request,
    response: Response,
    service: LoginServiceDep,
    client: ClientDep,
    components: ComponentsDep,
    device_header: Annotated[str | None, Header(alias="X-Device-Token")] = None,
    device_cookie: Annotated[str | None, Cookie(alias=DEVICE_COOKIE)] = None,
) -> LoginTokens:
    """JSON {username, password}, or the OAuth2 password form (Swagger's Authorize button)."""
    credentials = await _login_body(request)
    tokens = await service.login(
        login=credentials.username,
        password=credentials.password,
        client=client,
        device_token=credentials.device_token or device_header or device_cookie,
    )
    return _logged_in(tokens, response, components)


@router.post(
    "/login/mfa",
    response_model=LoginTokens,
    dependencies=PRIVATE,
    operation_id="auth_login_mfa",
    responses={
        **with_headers(200, Set_Cookie="device_token: this client, known to the account."),
        **problems(
            400,
            401,
            422,
            429,
            503,
            codes={
                400: ["invalid_mfa_code"],
                401: ["invalid_mfa_token"],
                429: ["too_many_attempts"],
                503: ["busy"],
            },
        ),
    },
)
async def login_mfa(
    body: MfaLogin,
    response: Response,
    service: LoginServiceDep,
    client: ClientDep,
    components: ComponentsDep,
    device_header: Annotated[str | None, Header(alias="X-Device-Token")] = None,
    device_cookie: Annotated[str | None, Cookie(alias=DEVICE_COOKIE)] = None,
) -> LoginTokens:
    """The second step of a login answered 401 `mfa_required`: its `mfa_token` and a code from
    the authenticator (or a recovery code). Each code is accepted once."""
    tokens = await service.complete_mfa(
        mfa_token=body.mfa_token,
        code=body.code,
        client=client,
        device_token=device_header or device_cookie,
    )
    return _logged_in(tokens, response, components)


def _logged_in(tokens: IssuedTokens, response: Response, components: Components) -> LoginTokens:
    assert tokens.device_token is not None
    response.headers.update(tokens.rate_limit)
    # Browsers keep it as a cookie only the login endpoints see; API clients get it in the body.
    response.set_cookie(
        DEVICE_COOKIE,
        tokens.device_token,
        max_age=components.devices.ttl_seconds,
        path=f"{router.prefix}/login",
        secure=components.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    pair = _token_pair(tokens)
    return LoginTokens(**pair.model_dump(), device_token=tokens.device_token)


@router.post(
    "/refresh",
    response_model=TokenPair,
    dependencies=PRIVATE,
    operation_id="auth_refresh",
    responses=problems(401, codes={401: ["invalid_refresh_token", "refresh_token_reused"]}),
)
async def refresh(body: RefreshRequest, service: LoginServiceDep) -> TokenPair:
    return _token_pair(await service.refresh(refresh_token=body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_logout",
    responses=problems(404),
)
async def logout(
    principal: CurrentPrincipal, service: SessionServiceDep, client: ClientDep
) -> None:
    await service.logout(principal=principal, client=client)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, operation_id="auth_logout_all")
async def logout_all(
    principal: CurrentPrincipal, service: SessionServiceDep, client: ClientDep
) -> None:
    await service.logout_all(principal=principal, client=client)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_change_password",
    responses=problems(
        401,
        404,
        422,
        503,
        codes={
            401: ["invalid_credentials", "missing_token", "invalid_token"],
            422: ["validation_failed", "weak_password"],
            503: ["busy"],
        },
    ),
)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, service: AccountServiceDep, client: ClientDep
) -> None:
    await service.change_password(
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
        client=client,
    )


@router.get(
    "/sessions",
    response_model=list[SessionRead],
    dependencies=PRIVATE,
    operation_id="auth_sessions_list",
)
async def list_sessions(
    principal: CurrentPrincipal, service: SessionServiceDep
) -> list[SessionRead]:
    sessions = await service.list_sessions(principal=principal)
    return [SessionRead.of(row, current=str(row.id) == principal.session_id) for row in sessions]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_sessions_revoke",
    responses=problems(404),
)
async def delete_session(
    session_id: uuid.UUID,
    principal: CurrentPrincipal,
    service: SessionServiceDep,
    client: ClientDep,
) -> None:
    await service.revoke_session(principal=principal, session_id=session_id, client=client)


@router.get(
    "/me",
    response_model=Me,
    dependencies=PRIVATE,
    operation_id="auth_me",
    responses=problems(404),
)
async def read_me(principal: CurrentPrincipal, service: AccountServiceDep) -> Me:
    account = await service.me(principal=principal)
    return Me(
        id=account.id,
        email=account.email,
        username=account.username,
        roles=account.roles,
        email_verified=account.email_verified_at is not None,
    )


_MAIL_THROTTLED = {429: ["too_many_attempts", "rate_limited"], 503: ["busy"]}


@router.post(
    "/verify/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,  # an empty 202, not `null`
    operation_id="auth_verify_request",
    responses=problems(
        404, 409, 429, 503, codes={409: ["email_already_verified"], **_MAIL_THROTTLED}
    ),
)
async def request_verification(principal: CurrentPrincipal, service: VerificationDep) -> None:
    """Mail a new single-use verification link to the account's address (valid 24 h)."""
    await service.request(principal=principal)


@router.post(
    "/verify",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_verify",
    responses=problems(400, 422, codes={400: ["invalid_email_token"]}),
)
async def verify_email(body: EmailTokenBody, service: VerificationDep, client: ClientDep) -> None:
    """The token from the verification mail; the account's email is verified from now on."""
    await service.verify(token=body.token, client=client)


@router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    operation_id="auth_password_forgot",
    responses=problems(422, 429, 503, codes=_MAIL_THROTTLED),
)
async def forgot_password(body: PasswordForgot, service: RecoveryDep, client: ClientDep) -> None:
    """Always 202: a reset link (valid 30 min) is mailed if the address has an account."""
    await service.forgot(email=body.email, client=client)


@router.post(
    "/password/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_password_reset",
    responses=problems(
        400,
        422,
        429,
        503,
        codes={
            400: ["invalid_email_token"],
            422: ["validation_failed", "weak_password"],
            **_MAIL_THROTTLED,
        },
    ),
)
async def reset_password(body: PasswordReset, service: RecoveryDep, client: ClientDep) -> None:
    """A new password with the reset token: every session of the account ends."""
    await service.reset(token=body.token, new_password=body.new_password, client=client)


@public_router.get(
    "/.well-known/jwks.json",
    response_model=JsonWebKeySet,
    operation_id="auth_jwks",
    responses=with_headers(200, Cache_Control="public, max-age=300"),
)
async def read_jwks(response: Response, components: ComponentsDep) -> JsonWebKeySet:
    """Every key tokens may be signed with; verifiers accept each of them."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return components.jwks


@internal_router.get("/revocations", response_model=RevokedSessions)
async def list_revocations(service: SessionServiceDep) -> RevokedSessions:
    """Revoked sessions whose tokens could still be live: the snapshot every replica loads."""
    snapshot = await service.revoked_snapshot()
    return RevokedSessions.model_validate(
        {"revoked": [{"session_id": s, "expires_at": t} for s, t in snapshot.items()]}
    )


def _token_pair(tokens: IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


async def _login_body(request: Request) -> LoginRequest:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/x-www-form-urlencoded":
            form = await request.form()
            fields = ("username", "password", "device_token")
            return LoginRequest.model_validate(
                {name: form[name] for name in fields if name in form}
            )
        return LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None
