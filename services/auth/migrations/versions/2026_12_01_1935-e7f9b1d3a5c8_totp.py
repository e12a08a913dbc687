"""totp: a second factor (RFC 6238), recovery codes, and how each session logged in (amr)

Revision ID: e7f9b1d3a5c8
Revises: c4e6a8b0d2f1
Create Date: 2026-12-01 19:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e7f9b1d3a5c8"
down_revision: str | None = "c4e6a8b0d2f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("account", sa.Column("totp_secret", sa.String(length=64)))
    op.add_column("account", sa.Column("totp_enabled_at", sa.DateTime(timezone=True)))
    op.add_column("account", sa.Column("totp_last_step", sa.BigInteger()))
    op.add_column(
        "session",
        sa.Column(
            "amr",
            postgresql.ARRAY(sa.String(length=8)),
            server_default=sa.text("'{pwd}'::varchar[]"),
            nullable=False,
        ),
    )
    op.create_table(
        "recovery_code",
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_recovery_code_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_recovery_code")),
    )
    op.create_index(op.f("ix_recovery_code_account_id"), "recovery_code", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recovery_code_account_id"), table_name="recovery_code")
    op.drop_table("recovery_code")
    op.drop_column("session", "amr")
    op.drop_column("account", "totp_last_step")
    op.drop_column("account", "totp_enabled_at")
    op.drop_column("account", "totp_secret")
