"""known files: file ownership from file events, so only one's own file can be one's avatar

Revision ID: 7c1e9a4b2d30
Revises: 15fcd54bbc48
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e9a4b2d30"
down_revision: str | None = "15fcd54bbc48"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_file")),
    )
    op.create_index("ix_known_file_owner_id", "known_file", ["owner_id"], unique=False)
    op.create_index(
        "ix_profile_avatar_file_id",
        "profile",
        ["avatar_file_id"],
        unique=False,
        postgresql_where=sa.text("avatar_file_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_profile_avatar_file_id",
        table_name="profile",
        postgresql_where=sa.text("avatar_file_id IS NOT NULL"),
    )
    op.drop_index("ix_known_file_owner_id", table_name="known_file")
    op.drop_table("known_file")
