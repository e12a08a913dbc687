"""oidc identities: accounts signed in through an OpenID Connect provider

Revision ID: f1a3c5e7b9d2
Revises: e7f9b1d3a5c8
Create Date: 2026-12-01 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f1a3c5e7b9d2"
down_revision: str | None = "e7f9b1d3a5c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_identity",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_oidc_identity_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider", "subject", name=op.f("pk_oidc_identity")),
    )
    op.create_index(op.f("ix_oidc_identity_account_id"), "oidc_identity", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_oidc_identity_account_id"), table_name="oidc_identity")
    op.drop_table("oidc_identity")
