"""profiles

Revision ID: 15fcd54bbc48
Revises: 0482b253d49e
Create Date: 2026-11-22 03:26:08.933545
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "15fcd54bbc48"
down_revision: str | None = "0482b253d49e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profile",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("bio", sa.String(length=1000), nullable=True),
        sa.Column("avatar_file_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile")),
    )
    op.create_index("ix_profile_created_at_id", "profile", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_profile_created_at_id", table_name="profile")
    op.drop_table("profile")
