"""files

Revision ID: 4877c6fcf43d
Revises: fba80ba1919d
Create Date: 2026-11-22 03:48:31
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4877c6fcf43d"
down_revision: str | None = "fba80ba1919d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_file_size_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file")),
    )
    op.create_index(
        "ix_file_owner_id_created_at_id", "file", ["owner_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "storage_usage",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("used_bytes", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "used_bytes >= 0", name=op.f("ck_storage_usage_used_bytes_not_negative")
        ),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_storage_usage")),
    )


def downgrade() -> None:
    op.drop_table("storage_usage")
    op.drop_index("ix_file_owner_id_created_at_id", table_name="file")
    op.drop_table("file")
