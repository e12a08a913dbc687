"""FastAPI glue for access tokens: the Bearer dependency (RFC 6750) and role checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer

from shared.errors import Forbidden, Unauthorized
from shared.logs import user_id_var
from shared.metrics import TOKEN_REJECTIONS
from shared.tokens import InvalidToken, Principal
from shared.web.documented import documentation_only
from shared.web.state import request_runtime

logger = logging.getLogger("shared.auth")

# Declared in the signature so OpenAPI shows both ways to authorize (either will do); the header
# itself is parsed below, so at run time they are left out (`shared.web.documented`).
_bearer_scheme = documentation_only(
    HTTPBearer(
        auto_error=False,
        bearerFormat="JWT",
        description="An access token issued by POST /api/v1/auth/login.",
    )
)
_password_flow = documentation_only(
    OAuth2PasswordBearer(
        tokenUrl="/api/v1/auth/login",
        auto_error=False,
        description="Log in with a username (or email) and password; the docs pages' Authorize "
        "button uses this.",
    )
)

_DETAILS = {
    "expired": "The access token has expired.",
    "revoked": "The access token has been revoked.",
}


class MissingToken(Unauthorized):
    """No Bearer token came with the request (RFC 6750 §3.1: the challenge carries no error)."""

    code = "missing_token"


class InvalidAccessToken(Unauthorized):
    """A Bearer token came but was refused; the detail stays general on purpose."""

    code = "invalid_token"


async def current_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)] = None,
    _password_token: Annotated[str | None, Depends(_password_flow)] = None,
) -> Principal:
    """The verified caller of this request, or 401 with a Bearer challenge."""
    token = _bearer_token(request.headers.get("authorization"))
    if token is None:
        raise MissingToken(
            "This request needs a Bearer access token.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = request_runtime(request).verifier.verify(token)
    except InvalidToken as exc:
        # The reason only, never the token: it is a credential.
        logger.info("access token refused", extra={"reason": exc.reason})
        TOKEN_REJECTIONS.labels(reason=exc.reason).inc()
        raise InvalidAccessToken(
            _DETAILS.get(exc.reason, "The access token is not valid."),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    user_id_var.set(principal.user_id)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only callers whose token grants `role`, else 403."""

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(role):
            raise Forbidden(f"This action requires the {role!r} role.")
        return principal

    return principal_with_role


def _bearer_token(authorization: str | None) -> str | None:
    # "Bearer <token>", scheme case-insensitive (RFC 7235); anything else counts as no token.
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
