"""HTTP routes of two-factor sign-in: setting up, turning on and off the caller's TOTP."""

from fastapi import APIRouter, Depends, status

from auth_service.dependencies import ClientDep, TotpServiceDep
from auth_service.schemas import MfaCode, RecoveryCodes, TotpDisable, TotpSetup
from shared.web.auth import CurrentPrincipal
from shared.web.dependencies import no_store
from shared.web.openapi import problems

router = APIRouter(prefix="/api/v1/auth/mfa", tags=["auth"], dependencies=[Depends(no_store)])


@router.post(
    "/totp/setup",
    operation_id="auth_mfa_totp_setup",
    responses=problems(404, 409, codes={409: ["mfa_already_enabled"]}),
)
async def setup_totp(principal: CurrentPrincipal, service: TotpServiceDep) -> TotpSetup:
    """A new secret; it protects logins only once `/totp/enable` has seen a code of it."""
    secret, uri = await service.setup(principal=principal)
    return TotpSetup(secret=secret, otpauth_uri=uri)


@router.post(
    "/totp/enable",
    operation_id="auth_mfa_totp_enable",
    responses=problems(
        400,
        404,
        409,
        422,
        codes={400: ["invalid_mfa_code"], 409: ["mfa_already_enabled", "mfa_not_set_up"]},
    ),
)
async def enable_totp(
    body: MfaCode, principal: CurrentPrincipal, service: TotpServiceDep, client: ClientDep
) -> RecoveryCodes:
    """A current code turns TOTP on; the answer holds 10 recovery codes, shown only now."""
    codes = await service.enable(principal=principal, code=body.code, client=client)
    return RecoveryCodes(recovery_codes=list(codes))


@router.delete(
    "/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_mfa_totp_disable",
    responses=problems(
        404,
        409,
        422,
        429,
        503,
        codes={
            401: ["invalid_credentials", "missing_token", "invalid_token"],
            409: ["mfa_not_enabled"],
            429: ["too_many_attempts"],
            503: ["busy"],
        },
    ),
)
async def disable_totp(
    body: TotpDisable, principal: CurrentPrincipal, service: TotpServiceDep, client: ClientDep
) -> None:
    """The password and a current (or recovery) code turn TOTP off."""
    await service.disable(
        principal=principal, password=body.password, code=body.code, client=client
    )
