"""todos

Revision ID: 90d5c4739fa5
Revises: 5d4bac72e00c
Create Date: 2026-11-22 03:43:59.365831
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "90d5c4739fa5"
down_revision: str | None = "5d4bac72e00c"
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
    op.create_table(
        "todo",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=10000), nullable=True),
        sa.Column("priority", sa.String(length=6), server_default="medium", nullable=False),
        sa.Column("completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=32)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("statement_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("statement_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high')", name=op.f("ck_todo_priority")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_todo")),
    )
    op.create_index(
        "ix_todo_owner_completed_created",
        "todo",
        [
            "owner_id",
            "completed",
            sa.literal_column("created_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )
    op.create_index(
        "ix_todo_owner_created",
        "todo",
        ["owner_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_todo_owner_priority_created",
        "todo",
        [
            "owner_id",
            "priority",
            sa.literal_column("created_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )
    op.create_index("ix_todo_tags", "todo", ["tags"], unique=False, postgresql_using="gin")
    op.create_table(
        "todo_attachment",
        sa.Column("todo_id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["known_file.id"],
            name=op.f("fk_todo_attachment_file_id_known_file"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["todo_id"],
            ["todo.id"],
            name=op.f("fk_todo_attachment_todo_id_todo"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("todo_id", "file_id", name=op.f("pk_todo_attachment")),
    )
    op.create_index("ix_todo_attachment_file_id", "todo_attachment", ["file_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_todo_attachment_file_id", table_name="todo_attachment")
    op.drop_table("todo_attachment")
    op.drop_index("ix_todo_tags", table_name="todo", postgresql_using="gin")
    op.drop_index("ix_todo_owner_priority_created", table_name="todo")
    op.drop_index("ix_todo_owner_created", table_name="todo")
    op.drop_index("ix_todo_owner_completed_created", table_name="todo")
    op.drop_table("todo")
    op.drop_index("ix_known_file_owner_id", table_name="known_file")
    op.drop_table("known_file")
