"""Every event contract of the suite, in one place: frozen, named for what happened, versioned.

Changes within a version are additive only; a breaking change is a new version or a new type.
`shared/tests/test_contracts.py` snapshots each JSON Schema so a removed or retyped field fails.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.events.envelope import DomainEvent


class UserRegistered(DomainEvent):
    """auth -> users: an account exists; users creates the profile."""

    type = "user.registered"
    user_id: uuid.UUID
    email: str
    username: str


class UserProfileUpdated(DomainEvent):
    """users -> anyone: the public profile changed."""

    type = "user.profile_updated"
    user_id: uuid.UUID
    display_name: str | None
    avatar_file_id: uuid.UUID | None


class UserDeleted(DomainEvent):
    """users -> auth, todos, files: the account is gone; purge everything of this user."""

    type = "user.deleted"
    user_id: uuid.UUID


class SessionRevoked(DomainEvent):
    """auth -> every replica: refuse this session's access tokens until `expires_at`.

    `expires_at` is when the last access token of the session expires; after it the entry is moot.
    """

    type = "session.revoked"
    session_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


class UserEmailVerified(DomainEvent):
    """auth -> users: the account proved it receives mail at `email`."""

    type = "user.email_verified"
    user_id: uuid.UUID
    email: str


class UserDisabled(DomainEvent):
    """auth -> anyone: an admin disabled the account; its sessions are revoked (session.revoked)."""

    type = "user.disabled"
    user_id: uuid.UUID


class PasswordResetRequested(DomainEvent):
    """auth -> auth: someone asked for a reset link for `email` (an account may not exist).

    Handled off the request path, so the answer takes the same time whether or not it does.
    """

    type = "password.reset_requested"
    email: str


class MailQueued(DomainEvent):
    """auth -> auth: the rendered message `mail_id` waits for SMTP; retried until it is sent."""

    type = "mail.queued"
    mail_id: uuid.UUID


class TodoCreated(DomainEvent):
    """todos -> anyone: a todo exists."""

    type = "todo.created"
    todo_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    attachment_ids: list[uuid.UUID]


class TodoUpdated(DomainEvent):
    """todos -> anyone: a todo changed; `changed` names the fields."""

    type = "todo.updated"
    todo_id: uuid.UUID
    owner_id: uuid.UUID
    todo_version: int
    changed: list[str]


class TodoDeleted(DomainEvent):
    """todos -> anyone: a todo is gone."""

    type = "todo.deleted"
    todo_id: uuid.UUID
    owner_id: uuid.UUID


class FileUploaded(DomainEvent):
    """files -> todos: a file exists and belongs to `owner_id` (todos keeps a read model)."""

    type = "file.uploaded"
    file_id: uuid.UUID
    owner_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str


class FileDeleted(DomainEvent):
    """files -> todos: the file is gone; detach it everywhere."""

    type = "file.deleted"
    file_id: uuid.UUID
    owner_id: uuid.UUID


ALL_CONTRACTS: tuple[type[DomainEvent], ...] = (
    UserRegistered,
    UserProfileUpdated,
    UserDeleted,
    SessionRevoked,
    UserEmailVerified,
    UserDisabled,
    PasswordResetRequested,
    MailQueued,
    TodoCreated,
    TodoUpdated,
    TodoDeleted,
    FileUploaded,
    FileDeleted,
)
