"""Tables of the users service's own database."""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata
from shared.events import define_event_tables
from shared.ownership import define_known_files


class Base(DeclarativeBase):
    metadata = make_metadata()


EVENT_TABLES = define_event_tables(Base.metadata)
# Which user owns which file, from file events: only one's own files can be one's avatar.
KNOWN_FILES = define_known_files(Base.metadata)


class Profile(Base):
    """A user's profile: id, email and username come from auth's `user.registered`; the rest is edited here."""

    __tablename__ = "profile"
    __table_args__ = (
        # Serves the admin listing, newest first by (created_at, id), as a backward index scan.
        Index("ix_profile_created_at_id", "created_at", "id"),
        # Finds the profiles a deleted file was the avatar of.
        Index(
            "ix_profile_avatar_file_id",
            "avatar_file_id",
            postgresql_where=text("avatar_file_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Auth owns the rules for email and username: a profile never refuses what auth accepted.
    email: Mapped[str] = mapped_column(Text)
    username: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(String(100))
    bio: Mapped[str | None] = mapped_column(String(1000))
    avatar_file_id: Mapped[uuid.UUID | None]
    email_verified: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
