"""security log and disabled accounts: the audit trail, and admins' disable/enable

Revision ID: c4e6a8b0d2f1
Revises: 8a1c3e5f7b92
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e6a8b0d2f1"
down_revision: str | None = "8a1c3e5f7b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("account", sa.Column("disabled_at", sa.DateTime(timezone=True)))
    op.create_table(
        "security_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_security_event_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_event")),
    )
    op.create_index(
        "ix_security_event_account_created_id",
        "security_event",
        ["account_id", "created_at", "id"],
    )
    op.create_index("ix_security_event_created_at_id", "security_event", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_security_event_created_at_id", table_name="security_event")
    op.drop_index("ix_security_event_account_created_id", table_name="security_event")
    op.drop_table("security_event")
    op.drop_column("account", "disabled_at")
