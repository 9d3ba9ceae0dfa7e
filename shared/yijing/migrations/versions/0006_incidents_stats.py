"""incidents and statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:02:53.420525
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_codes",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("label_zh", sa.String(length=50), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint("code ~ '^[a-z][a-z0-9_]{0,47}$'", name=op.f("ck_incident_codes_code_shape")),
        sa.CheckConstraint("kind IN ('class', 'tag')", name=op.f("ck_incident_codes_kind_known")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_incident_codes_valid_range")
        ),
        sa.PrimaryKeyConstraint("kind", "code", "version", name=op.f("pk_incident_codes")),
    )
    op.create_table(
        "incident_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("keep_valid_rows", sa.Boolean(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("job_run_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_imports")),
    )
    op.create_table(
        "daily_rollups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column("dimension", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_daily_rollups_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_rollups")),
    )
    op.create_index(
        "uq_daily_rollups_figure",
        "daily_rollups",
        ["station_id", "metric", "day", "site_id", "dimension"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "rollup_days",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_rollup_days_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("station_id", "source", "day", name=op.f("pk_rollup_days")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("source_system", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("class_code", sa.String(length=48), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=48)), server_default="{}", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_incidents_site_id_sites"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_incidents_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint(
            "source_system", "source_ref", name=op.f("uq_incidents_source_system_source_ref")
        ),
    )
    op.create_index(
        "ix_incidents_station_id_occurred_on", "incidents", ["station_id", "occurred_on"], unique=False
    )

    # The shipped code lists (yijing.incidents.codes), version 1 of each code. Written out: a migration
    # keeps what it inserted even if the module changes later.
    codes = sa.table(
        "incident_codes",
        sa.column("kind", sa.String),
        sa.column("code", sa.String),
        sa.column("version", sa.Integer),
        sa.column("label_zh", sa.String),
        sa.column("label_en", sa.String),
        sa.column("valid_from", sa.Date),
    )
    op.bulk_insert(
        codes,
        [
            {
                "kind": kind,
                "code": code,
                "version": 1,
                "label_zh": zh,
                "label_en": en,
                "valid_from": date(2000, 1, 1),
            }
            for kind, code, zh, en in (
                ("class", "illegal_crime", "违法犯罪", "Illegal acts and crimes"),
                ("class", "public_order", "治安秩序", "Public order"),
                ("class", "traffic", "交通", "Traffic"),
                ("class", "fire", "火灾", "Fire"),
                ("class", "dispute", "纠纷", "Disputes"),
                ("class", "assistance", "求助", "Requests for help"),
                ("class", "other", "其他", "Other"),
                ("tag", "floating_population", "涉流口", "Floating population involved"),
                ("tag", "porn_gambling", "黄赌", "Pornography and gambling"),
                ("tag", "telecom_fraud", "电信诈骗", "Telecom fraud"),
                ("tag", "minors", "涉未成年人", "Minors involved"),
            )
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_station_id_occurred_on", table_name="incidents")
    op.drop_table("incidents")
    op.drop_table("rollup_days")
    op.drop_index("uq_daily_rollups_figure", table_name="daily_rollups", postgresql_nulls_not_distinct=True)
    op.drop_table("daily_rollups")
    op.drop_table("incident_imports")
    op.drop_table("incident_codes")
