"""volunteers and teams

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 20:46:44.245610
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "volunteer_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("import_valid_rows", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("job_run_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_volunteer_imports_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_imports")),
    )
    op.create_index(
        op.f("ix_volunteer_imports_station_id"), "volunteer_imports", ["station_id"], unique=False
    )
    op.create_table(
        "team_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "post", sa.Enum("officer", "assistant", name="post", native_enum=False, length=32), nullable=False
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("assigned_by", sa.Uuid(), nullable=True),
        sa.Column("ended_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("post IN ('officer', 'assistant')", name=op.f("ck_team_assignments_post_known")),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at >= starts_at", name=op.f("ck_team_assignments_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_team_assignments_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_team_assignments_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_team_assignments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_assignments")),
    )
    op.create_index(
        "ix_team_assignments_site_id_starts_at", "team_assignments", ["site_id", "starts_at"], unique=False
    )
    op.create_index(op.f("ix_team_assignments_station_id"), "team_assignments", ["station_id"], unique=False)
    op.create_index(op.f("ix_team_assignments_user_id"), "team_assignments", ["user_id"], unique=False)
    op.create_index(
        "uq_team_assignments_one_officer",
        "team_assignments",
        ["site_id"],
        unique=True,
        postgresql_where=sa.text("post = 'officer' AND ends_at IS NULL"),
    )
    op.create_index(
        "uq_team_assignments_open_member",
        "team_assignments",
        ["site_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("ends_at IS NULL"),
    )
    op.create_table(
        "volunteers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "gender", sa.Enum("male", "female", name="gender", native_enum=False, length=32), nullable=False
        ),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("phone_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=11), nullable=False),
        sa.Column("id_card_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("id_card_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("id_card_masked", sa.String(length=18), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "stall_operator",
                "shop_owner",
                "landlord",
                "area_leader",
                "building_captain",
                "community_cadre",
                "security_guard",
                "resident",
                "other",
                name="volunteersource",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("household_name", sa.String(length=100), nullable=True),
        sa.Column("household_address", sa.String(length=200), nullable=True),
        sa.Column("badge_number", sa.String(length=32), nullable=True),
        sa.Column("skills", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "applied",
                "active",
                "suspended",
                "retired",
                name="volunteerstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("gender IN ('male', 'female')", name=op.f("ck_volunteers_gender_known")),
        sa.CheckConstraint(
            "source IN ('stall_operator', 'shop_owner', 'landlord', 'area_leader', 'building_captain', "
            "'community_cadre', 'security_guard', 'resident', 'other')",
            name=op.f("ck_volunteers_source_known"),
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'active', 'suspended', 'retired')", name=op.f("ck_volunteers_status_known")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_volunteers_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_volunteers_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_volunteers_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteers")),
        sa.UniqueConstraint("station_id", "badge_number", name=op.f("uq_volunteers_station_id_badge_number")),
        sa.UniqueConstraint(
            "station_id", "id_card_fingerprint", name=op.f("uq_volunteers_station_id_id_card_fingerprint")
        ),
        sa.UniqueConstraint("user_id", name=op.f("uq_volunteers_user_id")),
    )
    op.create_index("ix_volunteers_site_id_id", "volunteers", ["site_id", "id"], unique=False)
    op.create_index("ix_volunteers_station_id_id", "volunteers", ["station_id", "id"], unique=False)
    op.create_index(
        "ix_volunteers_station_id_status_id", "volunteers", ["station_id", "status", "id"], unique=False
    )
    op.create_index(op.f("ix_volunteers_updated_at"), "volunteers", ["updated_at"], unique=False)
    op.create_table(
        "volunteer_status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_volunteer_status_changes_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_status_changes")),
    )
    op.create_index(
        op.f("ix_volunteer_status_changes_volunteer_id"),
        "volunteer_status_changes",
        ["volunteer_id"],
        unique=False,
    )
    op.add_column("job_runs", sa.Column("station_id", sa.Uuid(), nullable=True))
    op.add_column("job_runs", sa.Column("requested_by", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_job_runs_station_id"), "job_runs", ["station_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_job_runs_station_id"), table_name="job_runs")
    op.drop_column("job_runs", "requested_by")
    op.drop_column("job_runs", "station_id")
    op.drop_index(op.f("ix_volunteer_status_changes_volunteer_id"), table_name="volunteer_status_changes")
    op.drop_table("volunteer_status_changes")
    op.drop_index(op.f("ix_volunteers_updated_at"), table_name="volunteers")
    op.drop_index("ix_volunteers_station_id_id", table_name="volunteers")
    op.drop_index("ix_volunteers_station_id_status_id", table_name="volunteers")
    op.drop_index("ix_volunteers_site_id_id", table_name="volunteers")
    op.drop_table("volunteers")
    op.drop_index(
        "uq_team_assignments_open_member",
        table_name="team_assignments",
        postgresql_where=sa.text("ends_at IS NULL"),
    )
    op.drop_index(
        "uq_team_assignments_one_officer",
        table_name="team_assignments",
        postgresql_where=sa.text("post = 'officer' AND ends_at IS NULL"),
    )
    op.drop_index(op.f("ix_team_assignments_user_id"), table_name="team_assignments")
    op.drop_index(op.f("ix_team_assignments_station_id"), table_name="team_assignments")
    op.drop_index("ix_team_assignments_site_id_starts_at", table_name="team_assignments")
    op.drop_table("team_assignments")
    op.drop_index(op.f("ix_volunteer_imports_station_id"), table_name="volunteer_imports")
    op.drop_table("volunteer_imports")
