"""patrol check-ins

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrol_checkins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("patrol_id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("flags", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "review",
            sa.Enum(
                "not_needed",
                "pending",
                "accepted",
                "rejected",
                name="checkinreview",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("accuracy_m >= 0", name=op.f("ck_patrol_checkins_accuracy_not_negative")),
        sa.CheckConstraint(
            "review IN ('not_needed', 'pending', 'accepted', 'rejected')",
            name=op.f("ck_patrol_checkins_review_known"),
        ),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["patrol_checkpoints.id"],
            name=op.f("fk_patrol_checkins_checkpoint_id_patrol_checkpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["patrol_id"], ["patrols.id"], name=op.f("fk_patrol_checkins_patrol_id_patrols")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_patrol_checkins_reviewed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_patrol_checkins_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_patrol_checkins_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_checkins")),
        sa.UniqueConstraint("station_id", "client_id", name=op.f("uq_patrol_checkins_station_id_client_id")),
    )
    op.create_index(
        op.f("ix_patrol_checkins_checkpoint_id"), "patrol_checkins", ["checkpoint_id"], unique=False
    )
    op.create_index(
        "ix_patrol_checkins_patrol_id_captured_at",
        "patrol_checkins",
        ["patrol_id", "captured_at"],
        unique=False,
    )
    op.create_index("ix_patrol_checkins_patrol_id_id", "patrol_checkins", ["patrol_id", "id"], unique=False)
    op.create_index(
        op.f("ix_patrol_checkins_volunteer_id"), "patrol_checkins", ["volunteer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("patrol_checkins")
