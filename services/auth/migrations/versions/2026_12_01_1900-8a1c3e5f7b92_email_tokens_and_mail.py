"""email tokens and queued mail: verification, password reset, mail through the outbox

Revision ID: 8a1c3e5f7b92
Revises: 5e2b7d9c4f18
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a1c3e5f7b92"
down_revision: str | None = "5e2b7d9c4f18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("account", sa.Column("email_verified_at", sa.DateTime(timezone=True)))
    op.create_table(
        "email_token",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_email_token_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_email_token")),
    )
    op.create_index(op.f("ix_email_token_account_id"), "email_token", ["account_id"])
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )


def downgrade() -> None:
    op.drop_table("outgoing_mail")
    op.drop_index(op.f("ix_email_token_account_id"), table_name="email_token")
    op.drop_table("email_token")
    op.drop_column("account", "email_verified_at")
