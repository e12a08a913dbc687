"""Tables of the auth service's own database: accounts, sessions, tokens and queued mail."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata
from shared.events import define_event_tables
from shared.idempotency import define_idempotency_table


class Base(DeclarativeBase):
    metadata = make_metadata()


EVENT_TABLES = define_event_tables(Base.metadata)
# Keys of POSTs repeated with Idempotency-Key (shared.idempotency).
IDEMPOTENCY = define_idempotency_table(Base.metadata)


class Account(Base):
    __tablename__ = "account"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Stored lower-cased: uniqueness is case-insensitive by construction.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), server_default=text("'{}'::varchar[]")
    )
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """An admin disabled the account: it cannot log in, and its sessions were revoked."""
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    """Base32 TOTP secret (RFC 6238); set at setup, in force once `totp_enabled_at` is set."""
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The time step of the last code accepted: a code is good once."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Session(Base):
    """A login: refresh tokens rotate within it; revoking it kills its access tokens too."""

    __tablename__ = "session"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    ip: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(
        ARRAY(String(8)), server_default=text("'{pwd}'::varchar[]")
    )
    """How the login proved who it was (RFC 8176): `pwd`, plus `otp` after a second factor."""

    # The revocation snapshot reads only recent revocations.
    __table_args__ = (
        Index(
            "ix_session_revoked_at", "revoked_at", postgresql_where=text("revoked_at IS NOT NULL")
        ),
    )


class RefreshToken(Base):
    """Only the SHA-256 of a refresh token is stored; `rotated_at` marks a spent one."""

    __tablename__ = "refresh_token"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("session.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailToken(Base):
    """A single-use token sent by mail (verify an email, reset a password); only its SHA-256 is
    kept, and `used_at` kills it."""

    __tablename__ = "email_token"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320))
    """The address the token was sent to: verifying proves this one, not a later one."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutgoingMail(Base):
    """A rendered message waiting for SMTP; `mail.queued` names it, and it is deleted once sent,
    so the links it carries do not outlive the delivery."""

    __tablename__ = "outgoing_mail"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SecurityEvent(Base):
    """The security log: who did what to an account, from where (kept `AUTH_SECURITY_LOG_DAYS`)."""

    __tablename__ = "security_event"
    __table_args__ = (
        # The owner's log and the admin's, newest first by (created_at, id); and the retention sweep.
        Index("ix_security_event_account_created_id", "account_id", "created_at", "id"),
        Index("ix_security_event_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE")
    )
    """None for a failed login naming no account (the name typed is not kept: it may be a
    password typed in the wrong field)."""
    type: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[uuid.UUID | None]
    """The admin who acted, when it was not the account itself."""
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecoveryCode(Base):
    """A single-use second factor handed out when TOTP is enabled; only its SHA-256 is kept."""

    __tablename__ = "recovery_code"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OidcIdentity(Base):
    """An account's identity at an OpenID provider: (provider, subject) signs in as it."""

    __tablename__ = "oidc_identity"

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
