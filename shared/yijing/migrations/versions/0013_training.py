"""training: sessions, their audiences and attendance, versioned attendance rules, online attendance imports

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:31:27.900256
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance_rules",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("online_present_percent", sa.Integer(), nullable=False),
        sa.Column("late_after_minutes", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "late_after_minutes BETWEEN 0 AND 240", name=op.f("ck_attendance_rules_late_range")
        ),
        sa.CheckConstraint(
            "online_present_percent BETWEEN 1 AND 100", name=op.f("ck_attendance_rules_percent_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_attendance_rules_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_attendance_rules_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "version", name=op.f("pk_attendance_rules")),
    )
    op.create_table(
        "trainings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topics", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column(
            "mode",
            sa.Enum("offline", "online", "hybrid", name="trainingmode", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("meeting_url", sa.String(length=500), nullable=True),
        sa.Column("trainer", sa.String(length=100), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("scheduled", "settled", "cancelled", name="trainingstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "mode = 'offline' OR meeting_url IS NOT NULL", name=op.f("ck_trainings_online_has_link")
        ),
        sa.CheckConstraint(
            "mode = 'online' OR place IS NOT NULL", name=op.f("ck_trainings_offline_has_place")
        ),
        sa.CheckConstraint("mode IN ('offline', 'online', 'hybrid')", name=op.f("ck_trainings_mode_known")),
        sa.CheckConstraint(
            "status <> 'cancelled' OR cancel_reason IS NOT NULL", name=op.f("ck_trainings_cancel_has_reason")
        ),
        sa.CheckConstraint(
            "status <> 'settled' OR rule_version IS NOT NULL", name=op.f("ck_trainings_settled_names_rule")
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'settled', 'cancelled')", name=op.f("ck_trainings_status_known")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_trainings_ends_after_start")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_trainings_created_by_users")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_trainings_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainings")),
    )
    op.create_index(
        "ix_trainings_scheduled_ends_at",
        "trainings",
        ["ends_at"],
        unique=False,
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_index(
        "ix_trainings_station_id_starts_at", "trainings", ["station_id", "starts_at"], unique=False
    )
    op.create_index(op.f("ix_trainings_updated_at"), "trainings", ["updated_at"], unique=False)
    op.create_table(
        "online_attendance_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("training_id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("job_run_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["trainings.id"],
            name=op.f("fk_online_attendance_imports_training_id_trainings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_attendance_imports")),
    )
    op.create_index(
        op.f("ix_online_attendance_imports_training_id"),
        "online_attendance_imports",
        ["training_id"],
        unique=False,
    )
    op.create_table(
        "training_attendance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("training_id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "present",
                "late",
                "absent",
                "excused",
                name="attendancestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_method", sa.String(length=32), nullable=True),
        sa.Column("checked_in_by", sa.Uuid(), nullable=True),
        sa.Column("online_minutes", sa.Integer(), nullable=True),
        sa.Column("excuse_reason", sa.String(length=500), nullable=True),
        sa.Column("excused_by", sa.Uuid(), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "checkin_method IS NULL OR checkin_method IN ('officer', 'code')",
            name=op.f("ck_training_attendance_checkin_method_known"),
        ),
        sa.CheckConstraint(
            "status <> 'excused' OR excuse_reason IS NOT NULL",
            name=op.f("ck_training_attendance_excuse_has_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'present', 'late', 'absent', 'excused')",
            name=op.f("ck_training_attendance_status_known"),
        ),
        sa.CheckConstraint(
            "(checked_in_at IS NULL) = (checkin_method IS NULL)",
            name=op.f("ck_training_attendance_checkin_has_method"),
        ),
        sa.CheckConstraint(
            "online_minutes IS NULL OR online_minutes >= 0",
            name=op.f("ck_training_attendance_minutes_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["checked_in_by"], ["users.id"], name=op.f("fk_training_attendance_checked_in_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["excused_by"], ["users.id"], name=op.f("fk_training_attendance_excused_by_users")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_training_attendance_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_training_attendance_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["trainings.id"],
            name=op.f("fk_training_attendance_training_id_trainings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_training_attendance_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attendance")),
        sa.UniqueConstraint(
            "training_id", "volunteer_id", name=op.f("uq_training_attendance_training_id_volunteer_id")
        ),
    )
    op.create_index("ix_training_attendance_site_id", "training_attendance", ["site_id"], unique=False)
    op.create_index(
        "ix_training_attendance_volunteer_id", "training_attendance", ["volunteer_id"], unique=False
    )
    op.create_table(
        "training_audiences",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("training_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("site", "group", "volunteer", name="audiencekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("volunteer_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'site') = (site_id IS NOT NULL) AND (kind = 'group') = (group_id IS NOT NULL) "
            "AND (kind = 'volunteer') = (volunteer_id IS NOT NULL)",
            name=op.f("ck_training_audiences_names_one_of_its_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('site', 'group', 'volunteer')", name=op.f("ck_training_audiences_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_training_audiences_group_id_groups")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_training_audiences_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["trainings.id"],
            name=op.f("fk_training_audiences_training_id_trainings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_training_audiences_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_audiences")),
    )
    op.create_index("ix_training_audiences_training_id", "training_audiences", ["training_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_training_audiences_training_id", table_name="training_audiences")
    op.drop_table("training_audiences")
    op.drop_index("ix_training_attendance_volunteer_id", table_name="training_attendance")
    op.drop_index("ix_training_attendance_site_id", table_name="training_attendance")
    op.drop_table("training_attendance")
    op.drop_index(op.f("ix_online_attendance_imports_training_id"), table_name="online_attendance_imports")
    op.drop_table("online_attendance_imports")
    op.drop_index(op.f("ix_trainings_updated_at"), table_name="trainings")
    op.drop_index("ix_trainings_station_id_starts_at", table_name="trainings")
    op.drop_index(
        "ix_trainings_scheduled_ends_at",
        table_name="trainings",
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.drop_table("trainings")
    op.drop_table("attendance_rules")
