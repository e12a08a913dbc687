"""HTTP routes of signing in with an OpenID Connect provider (thin, like router)."""

import hashlib
import secrets
from typing import Annotated

import httpx
from fastapi import APIRouter, Cookie, Depends, Query
from fastapi.responses import RedirectResponse

from auth_service.dependencies import ClientDep, ComponentsDep, FederatedSignInDep
from auth_service.errors import InvalidOidcState, OidcFailed, OidcUnavailable, UnknownProvider
from auth_service.oidc import PENDING_SECONDS, OidcError, OidcProvider
from auth_service.schemas import LoginTokens
from auth_service.service.hashing import unless_busy
from shared.web.dependencies import no_store
from shared.web.openapi import problems, with_headers

router = APIRouter(prefix="/api/v1/auth/oidc", tags=["auth"], dependencies=[Depends(no_store)])
STATE_COOKIE = "oidc_state"


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _provider(components: ComponentsDep, provider: str) -> OidcProvider:
    found = components.oidc.get(provider)
    if found is None:
        raise UnknownProvider(f"No OpenID provider is configured as {provider!r}.")
    return found


def _callback_url(components: ComponentsDep, provider: str) -> str:
    return f"{components.links.public_url.rstrip('/')}{router.prefix}/{provider}/callback"


@router.get(
    "/{provider}/start",
    status_code=302,
    response_class=RedirectResponse,
    operation_id="auth_oidc_start",
    responses={
        **with_headers(302, Location="The provider's login page (authorization code + PKCE)."),
        **problems(
            404, 502, 503, codes={404: ["unknown_provider"], 502: ["oidc_failed"], 503: ["busy"]}
        ),
    },
)
async def start(provider: str, components: ComponentsDep) -> RedirectResponse:
    """Send the browser to the provider's login; it comes back to `/callback`."""
    found = _provider(components, provider)
    try:
        url, state = await unless_busy(
            components.oidc.start(found, redirect_uri=_callback_url(components, provider))
        )
    except (OidcError, httpx.HTTPError) as exc:
        raise _unavailable(exc) from exc
    redirect = RedirectResponse(url, status_code=302)
    # The state is also this browser's cookie: a callback URL someone else began (login CSRF)
    # arrives without it. Lax: the provider's redirect back is a top-level GET.
    redirect.set_cookie(
        STATE_COOKIE,
        _digest(state),
        max_age=PENDING_SECONDS,
        path=f"{router.prefix}/{provider}",
        secure=components.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return redirect


@router.get(
    "/{provider}/callback",
    response_model=LoginTokens,
    operation_id="auth_oidc_callback",
    responses=problems(
        400,
        401,
        403,
        404,
        409,
        502,
        503,
        codes={
            400: ["invalid_oidc_state", "oidc_failed", "oidc_email_missing"],
            401: ["mfa_required"],
            403: ["account_disabled"],
            404: ["unknown_provider"],
            409: ["oidc_email_unverified"],
            502: ["oidc_failed"],
            503: ["busy"],
        },
    ),
)
async def callback(
    provider: str,
    components: ComponentsDep,
    service: FederatedSignInDep,
    client: ClientDep,
    state: Annotated[str, Query(max_length=512)] = "",
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    browser_state: Annotated[str | None, Cookie(alias=STATE_COOKIE)] = None,
) -> LoginTokens:
    """Where the provider sends the browser back: the same token pair as a password login."""
    found = _provider(components, provider)
    if not state or not secrets.compare_digest(_digest(state), browser_state or ""):
        raise InvalidOidcState("This browser did not start this sign-in: start again.")
    pending = await unless_busy(components.oidc.pending(state))
    if pending is None or pending.provider != provider:
        raise InvalidOidcState("The sign-in is unknown, used or expired: start again.")
    if error is not None or code is None:
        raise OidcFailed(f"The provider did not sign you in ({error or 'no code'}).")
    try:
        identity = await found.identity(
            code=code, redirect_uri=_callback_url(components, provider), pending=pending
        )
    except OidcError as exc:
        raise OidcFailed(f"The provider's answer did not check out ({exc.reason}).") from exc
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from exc
    tokens = await service.sign_in(identity=identity, client=client)
    assert tokens.device_token is not None
    return LoginTokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        device_token=tokens.device_token,
    )


def _unavailable(exc: Exception) -> OidcUnavailable:
    return OidcUnavailable(f"The provider could not be reached ({type(exc).__name__}).")
