"""hazards

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:23:57.311357
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hazard_deadline_rules",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'critical')",
            name=op.f("ck_hazard_deadline_rules_severity_known"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_hazard_deadline_rules_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "severity", name=op.f("pk_hazard_deadline_rules")),
    )
    op.create_table(
        "hazards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "fire",
                "public_security",
                "traffic",
                "building",
                "electrical",
                "other",
                name="hazardcategory",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum("low", "medium", "high", "critical", name="hazardseverity", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "patrol",
                "inspection",
                "resident_report",
                "other",
                name="hazardsource",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("responsible_party", sa.String(length=200), nullable=True),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column(
            "reporter_role",
            sa.Enum(
                "volunteer",
                "captain",
                "assistant",
                "officer",
                "leader",
                "admin",
                name="reporterrole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reporter_volunteer_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("reminded_for", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "verified",
                "rectifying",
                "eliminated",
                "duplicate",
                "not_hazard",
                "referred",
                name="hazardstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("duplicate_of_id", sa.Uuid(), nullable=True),
        sa.Column("referred_to", sa.String(length=200), nullable=True),
        sa.Column("eliminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('fire', 'public_security', 'traffic', 'building', 'electrical', 'other')",
            name=op.f("ck_hazards_category_known"),
        ),
        sa.CheckConstraint(
            "reporter_role IN ('volunteer', 'captain', 'assistant', 'officer', 'leader', 'admin')",
            name=op.f("ck_hazards_reporter_role_known"),
        ),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'critical')", name=op.f("ck_hazards_severity_known")
        ),
        sa.CheckConstraint(
            "source IN ('patrol', 'inspection', 'resident_report', 'other')",
            name=op.f("ck_hazards_source_known"),
        ),
        sa.CheckConstraint(
            "status <> 'duplicate' OR duplicate_of_id IS NOT NULL",
            name=op.f("ck_hazards_duplicate_has_original"),
        ),
        sa.CheckConstraint(
            "status <> 'eliminated' OR eliminated_at IS NOT NULL", name=op.f("ck_hazards_eliminated_has_time")
        ),
        sa.CheckConstraint(
            "status <> 'referred' OR referred_to IS NOT NULL", name=op.f("ck_hazards_referral_names_agency")
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'verified', 'rectifying', 'eliminated', "
            "'duplicate', 'not_hazard', 'referred')",
            name=op.f("ck_hazards_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["hazards.id"], name=op.f("fk_hazards_duplicate_of_id_hazards")
        ),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], name=op.f("fk_hazards_reporter_id_users")),
        sa.ForeignKeyConstraint(
            ["reporter_volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_hazards_reporter_volunteer_id_volunteers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_hazards_site_id_sites")),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name=op.f("fk_hazards_station_id_stations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazards")),
        sa.UniqueConstraint("station_id", "client_id", name=op.f("uq_hazards_station_id_client_id")),
    )
    op.create_index(op.f("ix_hazards_created_at"), "hazards", ["created_at"], unique=False)
    op.create_index(
        "ix_hazards_open_deadline",
        "hazards",
        ["deadline"],
        unique=False,
        postgresql_where=sa.text("status IN ('reported', 'verified', 'rectifying')"),
    )
    op.create_index(op.f("ix_hazards_reporter_id"), "hazards", ["reporter_id"], unique=False)
    op.create_index(
        "ix_hazards_overdue_station_id_id",
        "hazards",
        ["station_id", "id"],
        unique=False,
        postgresql_where=sa.text("overdue"),
    )
    op.create_index("ix_hazards_closed_at", "hazards", ["closed_at"], unique=False)
    op.create_index("ix_hazards_site_id_id", "hazards", ["site_id", "id"], unique=False)
    op.create_index("ix_hazards_station_id_id", "hazards", ["station_id", "id"], unique=False)
    op.create_index(
        "ix_hazards_station_id_status_id", "hazards", ["station_id", "status", "id"], unique=False
    )
    op.create_index(op.f("ix_hazards_updated_at"), "hazards", ["updated_at"], unique=False)
    op.create_table(
        "hazard_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hazard_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("before", "after", "other", name="attachmentkind", native_enum=False, length=32),
            nullable=False,
        ),
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
        sa.CheckConstraint(
            "kind IN ('before', 'after', 'other')", name=op.f("ck_hazard_attachments_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazards.id"],
            name=op.f("fk_hazard_attachments_hazard_id_hazards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_attachments")),
        sa.UniqueConstraint(
            "hazard_id",
            "upload_sha256",
            "gps_stripped",
            name=op.f("uq_hazard_attachments_hazard_id_upload_sha256_gps_stripped"),
        ),
    )
    op.create_index(
        "ix_hazard_attachments_hazard_id_id", "hazard_attachments", ["hazard_id", "id"], unique=False
    )
    op.create_table(
        "hazard_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hazard_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazards.id"], name=op.f("fk_hazard_events_hazard_id_hazards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_events")),
    )
    op.create_index("ix_hazard_events_hazard_id_id", "hazard_events", ["hazard_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hazard_events_hazard_id_id", table_name="hazard_events")
    op.drop_table("hazard_events")
    op.drop_index("ix_hazard_attachments_hazard_id_id", table_name="hazard_attachments")
    op.drop_table("hazard_attachments")
    op.drop_index(op.f("ix_hazards_updated_at"), table_name="hazards")
    op.drop_index("ix_hazards_station_id_status_id", table_name="hazards")
    op.drop_index("ix_hazards_station_id_id", table_name="hazards")
    op.drop_index("ix_hazards_site_id_id", table_name="hazards")
    op.drop_index("ix_hazards_closed_at", table_name="hazards")
    op.drop_index(
        "ix_hazards_overdue_station_id_id", table_name="hazards", postgresql_where=sa.text("overdue")
    )
    op.drop_index(op.f("ix_hazards_reporter_id"), table_name="hazards")
    op.drop_index(
        "ix_hazards_open_deadline",
        table_name="hazards",
        postgresql_where=sa.text("status IN ('reported', 'verified', 'rectifying')"),
    )
    op.drop_index(op.f("ix_hazards_created_at"), table_name="hazards")
    op.drop_table("hazards")
    op.drop_table("hazard_deadline_rules")
