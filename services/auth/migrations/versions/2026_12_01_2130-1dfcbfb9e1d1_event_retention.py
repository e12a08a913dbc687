"""event retention: indexes the sweep of sent outbox rows and old inbox rows uses

Revision ID: 1dfcbfb9e1d1
Revises: f1a3c5e7b9d2
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1dfcbfb9e1d1"
down_revision: str | None = "f1a3c5e7b9d2"
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
