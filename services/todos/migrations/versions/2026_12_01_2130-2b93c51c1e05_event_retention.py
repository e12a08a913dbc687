"""event retention: indexes the sweep of sent outbox rows and old inbox rows uses

Revision ID: 2b93c51c1e05
Revises: 3a8f1c2d9e71
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2b93c51c1e05"
down_revision: str | None = "3a8f1c2d9e71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_message_published",
        "outbox_message",
        ["published_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index("ix_inbox_message_handled_at", "inbox_message", ["handled_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbox_message_handled_at", table_name="inbox_message")
    op.drop_index(
        "ix_outbox_message_published",
        table_name="outbox_message",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
