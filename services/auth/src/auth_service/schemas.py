"""Request and response bodies of the auth service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


# Stored lower-cased, so "Alice" registers as "alice" and can never coexist with it.
Username = Annotated[str, BeforeValidator(_lower), StringConstraints(pattern=r"^[a-z0-9_]{3,32}$")]
Password = Annotated[str, Field(min_length=8, max_length=128)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountCreate(Strict):
    email: EmailStr = Field(max_length=320)
    username: Username
    password: Password


class AccountRead(BaseModel):
    id: uuid.UUID
    email: str
    username: str


class Me(AccountRead):
    roles: list[str]
    email_verified: bool = Field(description="The account proved it receives mail at `email`.")


class EmailTokenBody(Strict):
    token: str = Field(min_length=1, max_length=256, description="The code from the mail.")


class PasswordForgot(Strict):
    email: EmailStr = Field(max_length=320)


class PasswordReset(Strict):
    token: str = Field(min_length=1, max_length=256, description="The code from the mail.")
    new_password: Password


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=320, description="The username or the email.")
    password: str = Field(min_length=1, max_length=1024)
    device_token: str | None = Field(
        default=None,
        max_length=256,
        description="The device token an earlier login gave this client (also accepted as the "
        "X-Device-Token header or the device_token cookie).",
    )


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=8192)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: Password


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - RFC 6749 token type
    expires_in: int


class LoginTokens(TokenPair):
    device_token: str = Field(
        description="Send it with later logins: a client known to the account is not slowed down "
        "by wrong guesses made elsewhere."
    )


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool

    @classmethod
    def of(cls, row: Any, *, current: bool) -> SessionRead:
        return cls(
            id=row.id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            user_agent=row.user_agent,
            ip=row.ip,
            current=current,
        )


class SecurityEventRead(BaseModel):
    """One entry of the security log."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str = Field(examples=["login_failed"])
    reason: str | None = Field(examples=["invalid_password"])
    user_id: uuid.UUID | None = Field(validation_alias="account_id")
    actor_id: uuid.UUID | None = Field(description="The admin who acted, if not the user.")
    ip: str | None
    user_agent: str | None
    created_at: datetime


class SecurityEventPage(BaseModel):
    """One page of the security log, newest first; `next_cursor` is null on the last page."""

    items: list[SecurityEventRead]
    next_cursor: str | None


class JsonWebKey(BaseModel):
    kty: str
    kid: str
    use: str
    alg: str
    n: str
    e: str


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey]


class RevokedSession(BaseModel):
    session_id: uuid.UUID
    expires_at: float


class RevokedSessions(BaseModel):
    revoked: list[RevokedSession]


class TotpSetup(BaseModel):
    """A new TOTP secret: scan the URI (a QR code of it) or type the secret into the app."""

    secret: str = Field(examples=["JBSWY3DPEHPK3PXP"])
    otpauth_uri: str = Field(
        examples=["otpauth://totp/suite:ann%40example.com?secret=...&issuer=suite"]
    )


class MfaCode(Strict):
    code: str = Field(min_length=6, max_length=32, description="6 digits, or a recovery code.")


class TotpDisable(Strict):
    password: str = Field(min_length=1, max_length=1024)
    code: str = Field(min_length=6, max_length=32, description="6 digits, or a recovery code.")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(
        description="Single-use codes for when the authenticator is lost; shown only now."
    )


class MfaLogin(Strict):
    mfa_token: str = Field(min_length=1, max_length=256, description="From the 401 mfa_required.")
    code: str = Field(min_length=6, max_length=32, description="6 digits, or a recovery code.")
