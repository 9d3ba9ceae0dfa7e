"""groups and rota

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:41:40.490607
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("target_size", sa.Integer(), nullable=False),
        sa.Column("handoff_weekday", sa.Integer(), nullable=False),
        sa.Column("handoff_time", sa.Time(), nullable=False),
        sa.Column("horizon_weeks", sa.Integer(), nullable=False),
        sa.Column("planned_until", sa.Date(), nullable=True),
        sa.Column("plan_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("handoff_weekday BETWEEN 0 AND 6", name=op.f("ck_groups_handoff_weekday_range")),
        sa.CheckConstraint("horizon_weeks BETWEEN 1 AND 52", name=op.f("ck_groups_horizon_weeks_range")),
        sa.CheckConstraint("target_size BETWEEN 2 AND 50", name=op.f("ck_groups_target_size_range")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_groups_site_id_sites")),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name=op.f("fk_groups_station_id_stations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_groups_site_id_name")),
    )
    op.create_index(op.f("ix_groups_site_id"), "groups", ["site_id"], unique=False)
    op.create_index(op.f("ix_groups_station_id"), "groups", ["station_id"], unique=False)
    op.create_index(op.f("ix_groups_updated_at"), "groups", ["updated_at"], unique=False)
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("volunteer_id", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(group_id IS NULL) <> (volunteer_id IS NULL)", name=op.f("ck_calendar_feeds_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_calendar_feeds_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_calendar_feeds_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_index(op.f("ix_calendar_feeds_station_id"), "calendar_feeds", ["station_id"], unique=False)
    op.create_table(
        "captain_weeks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("rotation_volunteer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "rotation", "swap", "override", "fallback", name="captainsource", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "source IN ('rotation', 'swap', 'override', 'fallback')",
            name=op.f("ck_captain_weeks_source_known"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_captain_weeks_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_captain_weeks_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rotation_volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_captain_weeks_rotation_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_captain_weeks_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captain_weeks")),
        sa.UniqueConstraint("group_id", "week_start", name=op.f("uq_captain_weeks_group_id_week_start")),
    )
    op.create_index(
        "ix_captain_weeks_group_id_starts_at", "captain_weeks", ["group_id", "starts_at"], unique=False
    )
    op.create_index(op.f("ix_captain_weeks_station_id"), "captain_weeks", ["station_id"], unique=False)
    op.create_index(op.f("ix_captain_weeks_volunteer_id"), "captain_weeks", ["volunteer_id"], unique=False)
    op.create_table(
        "group_memberships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "left_at IS NULL OR left_at >= joined_at", name=op.f("ck_group_memberships_leaves_after_joining")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_memberships_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_group_memberships_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_memberships")),
    )
    op.create_index(op.f("ix_group_memberships_group_id"), "group_memberships", ["group_id"], unique=False)
    op.create_index(
        "ix_group_memberships_open_group_id",
        "group_memberships",
        ["group_id"],
        unique=False,
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.create_index(
        op.f("ix_group_memberships_volunteer_id"), "group_memberships", ["volunteer_id"], unique=False
    )
    op.create_index(
        "uq_group_memberships_open_volunteer",
        "group_memberships",
        ["volunteer_id"],
        unique=True,
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.create_table(
        "unavailabilities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_unavailabilities_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_unavailabilities_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unavailabilities")),
    )
    op.create_index(op.f("ix_unavailabilities_station_id"), "unavailabilities", ["station_id"], unique=False)
    op.create_index(
        op.f("ix_unavailabilities_volunteer_id"), "unavailabilities", ["volunteer_id"], unique=False
    )
    op.create_table(
        "captain_notices",
        sa.Column("week_id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["week_id"],
            ["captain_weeks.id"],
            name=op.f("fk_captain_notices_week_id_captain_weeks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("week_id", "volunteer_id", "kind", name=op.f("pk_captain_notices")),
    )
    op.create_table(
        "captain_swaps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("week_id", sa.Uuid(), nullable=False),
        sa.Column("from_volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("to_volunteer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "accepted",
                "declined",
                "cancelled",
                "expired",
                name="swapstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'declined', 'cancelled', 'expired')",
            name=op.f("ck_captain_swaps_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_captain_swaps_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["week_id"],
            ["captain_weeks.id"],
            name=op.f("fk_captain_swaps_week_id_captain_weeks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captain_swaps")),
    )
    op.create_index(op.f("ix_captain_swaps_station_id"), "captain_swaps", ["station_id"], unique=False)
    op.create_index(op.f("ix_captain_swaps_week_id"), "captain_swaps", ["week_id"], unique=False)
    op.create_index(
        "uq_captain_swaps_open_week",
        "captain_swaps",
        ["week_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_captain_swaps_open_week", table_name="captain_swaps", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(op.f("ix_captain_swaps_week_id"), table_name="captain_swaps")
    op.drop_index(op.f("ix_captain_swaps_station_id"), table_name="captain_swaps")
    op.drop_table("captain_swaps")
    op.drop_table("captain_notices")
    op.drop_index(op.f("ix_unavailabilities_volunteer_id"), table_name="unavailabilities")
    op.drop_index(op.f("ix_unavailabilities_station_id"), table_name="unavailabilities")
    op.drop_table("unavailabilities")
    op.drop_index(
        "uq_group_memberships_open_volunteer",
        table_name="group_memberships",
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.drop_index(op.f("ix_group_memberships_volunteer_id"), table_name="group_memberships")
    op.drop_index(
        "ix_group_memberships_open_group_id",
        table_name="group_memberships",
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.drop_index(op.f("ix_group_memberships_group_id"), table_name="group_memberships")
    op.drop_table("group_memberships")
    op.drop_index(op.f("ix_captain_weeks_volunteer_id"), table_name="captain_weeks")
    op.drop_index(op.f("ix_captain_weeks_station_id"), table_name="captain_weeks")
    op.drop_index("ix_captain_weeks_group_id_starts_at", table_name="captain_weeks")
    op.drop_table("captain_weeks")
    op.drop_index(op.f("ix_calendar_feeds_station_id"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    op.drop_index(op.f("ix_groups_updated_at"), table_name="groups")
    op.drop_index(op.f("ix_groups_station_id"), table_name="groups")
    op.drop_index(op.f("ix_groups_site_id"), table_name="groups")
    op.drop_table("groups")
