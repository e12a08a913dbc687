"""Errors of the auth service, each with the stable `code` clients see."""

from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ProblemError,
    TooManyRequests,
    Unauthorized,
)


class EmailTaken(Conflict):
    code = "email_taken"


class UsernameTaken(Conflict):
    code = "username_taken"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"


class AccountDisabled(Forbidden):
    code = "account_disabled"


class LastAdmin(Conflict):
    code = "last_admin"


class OwnAccount(Conflict):
    code = "own_account"


class MfaRequired(Unauthorized):
    """The password matched; the body's `mfa_token` and a code complete the login."""

    code = "mfa_required"


class InvalidMfaCode(ProblemError):
    code = "invalid_mfa_code"


class InvalidMfaToken(Unauthorized):
    code = "invalid_mfa_token"


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"


class MfaNotSetUp(Conflict):
    code = "mfa_not_set_up"


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"


class UnknownProvider(NotFound):
    code = "unknown_provider"


class InvalidOidcState(ProblemError):
    """The callback's state is unknown, used or expired: the sign-in must start again."""

    code = "invalid_oidc_state"


class OidcFailed(ProblemError):
    """The provider refused, or its answer did not check out (`reason` in the detail)."""

    code = "oidc_failed"


class OidcUnavailable(ProblemError):
    status = 502
    code = "oidc_failed"
    title = "Bad Gateway"


class OidcEmailMissing(ProblemError):
    code = "oidc_email_missing"


class OidcEmailUnverified(Conflict):
    code = "oidc_email_unverified"


class EmailAlreadyVerified(Conflict):
    code = "email_already_verified"


class InvalidEmailToken(ProblemError):
    """A verification or reset token that is unknown, spent or expired (one answer for all)."""

    code = "invalid_email_token"


class MailThrottled(TooManyRequests):
    code = "too_many_attempts"


class LoginThrottled(TooManyRequests):
    code = "too_many_attempts"


class WeakPasswordError(ProblemError):
    """A 422 like any other: `errors` names the field and why (as validation failures do)."""

    status = 422
    code = "weak_password"
    title = "Unprocessable Content"

    def __init__(self, reason: str, *, field: str) -> None:
        super().__init__(
            reason,
            extra={"errors": [{"loc": ["body", field], "msg": reason, "type": self.code}]},
        )


class AuthBusy(ProblemError):
    status = 503
    code = "busy"
    title = "Service Unavailable"
