"""profile email_verified: from auth's user.email_verified

Revision ID: 3d5f7a9c1e24
Revises: 7c1e9a4b2d30
Create Date: 2026-12-01 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d5f7a9c1e24"
down_revision: str | None = "7c1e9a4b2d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "profile",
        sa.Column("email_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("profile", "email_verified")
