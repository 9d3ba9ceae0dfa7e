"""patrol logs and their photos, repeating plans, settled outcomes, check-in notes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:30:21.415067
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrol_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("leader_volunteer_id", sa.Uuid(), nullable=True),
        sa.Column("weekdays", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("made_until", sa.Date(), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "cardinality(weekdays) BETWEEN 1 AND 7", name=op.f("ck_patrol_plans_weekdays_given")
        ),
        sa.CheckConstraint("horizon_days BETWEEN 1 AND 60", name=op.f("ck_patrol_plans_horizon_days_range")),
        sa.CheckConstraint(
            "last_day IS NULL OR last_day >= first_day", name=op.f("ck_patrol_plans_last_day_after_first")
        ),
        sa.CheckConstraint(
            "weekdays <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]", name=op.f("ck_patrol_plans_weekdays_iso")
        ),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_patrol_plans_group_id_groups")),
        sa.ForeignKeyConstraint(
            ["leader_volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_patrol_plans_leader_volunteer_id_volunteers"),
        ),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["patrol_routes.id"],
            name=op.f("fk_patrol_plans_route_id_patrol_routes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_patrol_plans_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_patrol_plans_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_plans")),
    )
    op.create_index("ix_patrol_plans_station_id_id", "patrol_plans", ["station_id", "id"], unique=False)
    op.create_table(
        "patrol_plan_members",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["patrol_plans.id"],
            name=op.f("fk_patrol_plan_members_plan_id_patrol_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_patrol_plan_members_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("plan_id", "volunteer_id", name=op.f("pk_patrol_plan_members")),
    )
    op.create_table(
        "patrol_checkpoint_results",
        sa.Column("patrol_id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("hit", "late", "missed", name="checkpointoutcome", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("first_reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkins", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('hit', 'late', 'missed')", name=op.f("ck_patrol_checkpoint_results_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["patrol_checkpoints.id"],
            name=op.f("fk_patrol_checkpoint_results_checkpoint_id_patrol_checkpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_patrol_checkpoint_results_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patrol_id", "checkpoint_id", name=op.f("pk_patrol_checkpoint_results")),
    )
    op.create_table(
        "patrol_logs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("patrol_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "observation",
                "persuasion",
                "outreach",
                "intervention",
                "hazard_found",
                "dispute",
                name="logkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=32), nullable=True),
        sa.Column("people", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("hazard_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "kind <> 'hazard_found' OR hazard_id IS NOT NULL",
            name=op.f("ck_patrol_logs_hazard_found_links_hazard"),
        ),
        sa.CheckConstraint(
            "kind IN ('observation', 'persuasion', 'outreach', 'intervention', 'hazard_found', 'dispute')",
            name=op.f("ck_patrol_logs_kind_known"),
        ),
        sa.CheckConstraint(
            "topic IS NULL OR topic IN ('drink_driving', 'fire_safety', 'anti_fraud', 'traffic_safety', "
            "'theft_prevention', 'leaflets', 'talk', 'other')",
            name=op.f("ck_patrol_logs_topic_known"),
        ),
        sa.CheckConstraint("people IS NULL OR people >= 0", name=op.f("ck_patrol_logs_people_not_negative")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_patrol_logs_author_id_users")),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"], name=op.f("fk_patrol_logs_hazard_id_hazards")),
        sa.ForeignKeyConstraint(["patrol_id"], ["patrols.id"], name=op.f("fk_patrol_logs_patrol_id_patrols")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_patrol_logs_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_patrol_logs_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_logs")),
        sa.UniqueConstraint("station_id", "client_id", name=op.f("uq_patrol_logs_station_id_client_id")),
    )
    op.create_index(op.f("ix_patrol_logs_hazard_id"), "patrol_logs", ["hazard_id"], unique=False)
    op.create_index(
        "ix_patrol_logs_patrol_id_occurred_at", "patrol_logs", ["patrol_id", "occurred_at"], unique=False
    )
    op.create_index(
        "ix_patrol_logs_station_id_occurred_at", "patrol_logs", ["station_id", "occurred_at"], unique=False
    )
    op.create_table(
        "patrol_checkin_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("checkin_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_patrol_checkin_notes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["patrol_checkins.id"],
            name=op.f("fk_patrol_checkin_notes_checkin_id_patrol_checkins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_checkin_notes")),
    )
    op.create_index(
        "ix_patrol_checkin_notes_checkin_id_id", "patrol_checkin_notes", ["checkin_id", "id"], unique=False
    )
    op.create_table(
        "patrol_log_photos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("log_id", sa.Uuid(), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("upload_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("gps_stripped", sa.Boolean(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["patrol_logs.id"],
            name=op.f("fk_patrol_log_photos_log_id_patrol_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_log_photos")),
        sa.UniqueConstraint(
            "log_id",
            "upload_sha256",
            "gps_stripped",
            name=op.f("uq_patrol_log_photos_log_id_upload_sha256_gps_stripped"),
        ),
    )
    op.create_index("ix_patrol_log_photos_log_id_id", "patrol_log_photos", ["log_id", "id"], unique=False)
    op.add_column(
        "patrol_members", sa.Column("verified_minutes", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "patrol_members", sa.Column("verified_checkins", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("patrol_members", sa.Column("first_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("patrol_members", sa.Column("last_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_patrol_members_volunteer_id_patrol_id",
        "patrol_members",
        ["volunteer_id", "patrol_id"],
        unique=False,
    )
    op.add_column("patrols", sa.Column("plan_id", sa.Uuid(), nullable=True))
    op.add_column("patrols", sa.Column("plan_day", sa.Date(), nullable=True))
    op.add_column(
        "patrols", sa.Column("auto_closed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("patrols", sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_patrols_unsettled_planned_end",
        "patrols",
        ["planned_end"],
        unique=False,
        postgresql_where="settled_at IS NULL",
    )
    op.create_unique_constraint(op.f("uq_patrols_plan_id_plan_day"), "patrols", ["plan_id", "plan_day"])
    op.create_foreign_key(
        op.f("fk_patrols_plan_id_patrol_plans"),
        "patrols",
        "patrol_plans",
        ["plan_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_patrols_plan_id_patrol_plans"), "patrols", type_="foreignkey")
    op.drop_constraint(op.f("uq_patrols_plan_id_plan_day"), "patrols", type_="unique")
    op.drop_index(
        "ix_patrols_unsettled_planned_end", table_name="patrols", postgresql_where="settled_at IS NULL"
    )
    op.drop_column("patrols", "settled_at")
    op.drop_column("patrols", "auto_closed")
    op.drop_column("patrols", "plan_day")
    op.drop_column("patrols", "plan_id")
    op.drop_index("ix_patrol_members_volunteer_id_patrol_id", table_name="patrol_members")
    op.drop_column("patrol_members", "last_verified_at")
    op.drop_column("patrol_members", "first_verified_at")
    op.drop_column("patrol_members", "verified_checkins")
    op.drop_column("patrol_members", "verified_minutes")
    op.drop_index("ix_patrol_log_photos_log_id_id", table_name="patrol_log_photos")
    op.drop_table("patrol_log_photos")
    op.drop_index("ix_patrol_checkin_notes_checkin_id_id", table_name="patrol_checkin_notes")
    op.drop_table("patrol_checkin_notes")
    op.drop_index("ix_patrol_logs_station_id_occurred_at", table_name="patrol_logs")
    op.drop_index("ix_patrol_logs_patrol_id_occurred_at", table_name="patrol_logs")
    op.drop_index(op.f("ix_patrol_logs_hazard_id"), table_name="patrol_logs")
    op.drop_table("patrol_logs")
    op.drop_table("patrol_checkpoint_results")
    op.drop_table("patrol_plan_members")
    op.drop_index("ix_patrol_plans_station_id_id", table_name="patrol_plans")
    op.drop_table("patrol_plans")
