"""Tables of the files service's own database."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata
from shared.events import define_event_tables
from shared.idempotency import define_idempotency_table


class Base(DeclarativeBase):
    metadata = make_metadata()


EVENT_TABLES = define_event_tables(Base.metadata)
# Keys of uploads repeated with Idempotency-Key (shared.idempotency).
IDEMPOTENCY = define_idempotency_table(Base.metadata)


class File(Base):
    """A stored file's metadata; its bytes live in the storage backend under the key `str(id)`."""

    __tablename__ = "file"
    __table_args__ = (
        # Serves an owner's listing, newest first by (created_at, id), as a backward index scan.
        Index("ix_file_owner_id_created_at_id", "owner_id", "created_at", "id"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID]
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # The insert's own clock, not the transaction's start: rows written in one transaction still
    # list newest first.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class StorageUsage(Base):
    """Bytes an owner stores: the row an upload's commit locks, so concurrent uploads respect the quota."""

    __tablename__ = "storage_usage"
    __table_args__ = (CheckConstraint("used_bytes >= 0", name="used_bytes_not_negative"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    used_bytes: Mapped[int] = mapped_column(BigInteger)
