"""Errors of the auth service, each with the stable `code` clients see."""

from shared.errors import (
    Conflict,
    Forbidden,
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
