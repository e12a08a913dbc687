"""Tables of the todos service's own database."""

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata
from shared.events import define_event_tables
from shared.idempotency import define_idempotency_table
from shared.ownership import define_known_files


class Base(DeclarativeBase):
    metadata = make_metadata()


EVENT_TABLES = define_event_tables(Base.metadata)
# Keys of POSTs repeated with Idempotency-Key (shared.idempotency).
IDEMPOTENCY = define_idempotency_table(Base.metadata)
KNOWN_FILES = define_known_files(Base.metadata)

PRIORITIES = ("low", "medium", "high")


class Todo(Base):
    """A user's todo; `version` grows by one with every change and makes its ETag."""

    __tablename__ = "todo"
    __table_args__ = (
        CheckConstraint(f"priority IN {PRIORITIES}", name="priority"),
        # Each listing is one range scan in its own order, newest first, reading about `limit`
        # rows however deep the page: unfiltered (also serves tag and due filters and purges)...
        Index("ix_todo_owner_created", "owner_id", text("created_at DESC"), text("id DESC")),
        # ...and with the two equality filters. Both together use one of these and filter the rest.
        Index(
            "ix_todo_owner_completed_created",
            "owner_id",
            "completed",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "ix_todo_owner_priority_created",
            "owner_id",
            "priority",
            text("created_at DESC"),
            text("id DESC"),
        ),
        # A rare tag is found through its posting list rather than by walking the user's todos.
        Index("ix_todo_tags", "tags", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(10_000))
    priority: Mapped[str] = mapped_column(String(6), server_default="medium")
    completed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # statement_timestamp(), not now(): todos made in one transaction still get distinct times,
    # in the order they were made, which is the order clients page through.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.statement_timestamp()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.statement_timestamp()
    )


class KnownFile(Base):
    """The todos service's read model of file ownership, fed by `file.uploaded` and
    `file.deleted` (see `shared.ownership`: deleted files stay as tombstones)."""

    __table__ = KNOWN_FILES

    id: Mapped[uuid.UUID]
    owner_id: Mapped[uuid.UUID]
    deleted_at: Mapped[datetime | None]


class TodoAttachment(Base):
    """A file attached to a todo, at its `position` in the order the client gave; deleting either
    side detaches it."""

    __tablename__ = "todo_attachment"
    # Finds every todo a deleted file is attached to.
    __table_args__ = (Index("ix_todo_attachment_file_id", "file_id"),)

    todo_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("todo.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("known_file.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)
