"""sign-in lockout and API-key counts in PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:20:32.481907
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("phone_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("phone_fingerprint", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_updated_at"), "login_failures", ["updated_at"], unique=False)
    op.create_table(
        "api_key_usage",
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_api_key_usage_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("api_key_id", "window_start", name=op.f("pk_api_key_usage")),
    )
    op.create_index(op.f("ix_api_key_usage_window_start"), "api_key_usage", ["window_start"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_key_usage_window_start"), table_name="api_key_usage")
    op.drop_table("api_key_usage")
    op.drop_index(op.f("ix_login_failures_updated_at"), table_name="login_failures")
    op.drop_table("login_failures")
