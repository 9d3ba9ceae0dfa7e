"""patrol routes and checkpoints

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrol_routes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_patrol_routes_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_patrol_routes_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_routes")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_patrol_routes_site_id_name")),
    )
    op.create_index("ix_patrol_routes_station_id_id", "patrol_routes", ["station_id", "id"], unique=False)
    op.create_table(
        "patrol_checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("code ~ '^[A-Za-z0-9_-]{6,64}$'", name=op.f("ck_patrol_checkpoints_code_format")),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_patrol_checkpoints_latitude_range")),
        sa.CheckConstraint(
            "longitude BETWEEN -180 AND 180", name=op.f("ck_patrol_checkpoints_longitude_range")
        ),
        sa.CheckConstraint("position >= 1", name=op.f("ck_patrol_checkpoints_position_positive")),
        sa.CheckConstraint("radius_m BETWEEN 5 AND 2000", name=op.f("ck_patrol_checkpoints_radius_m_range")),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["patrol_routes.id"],
            name=op.f("fk_patrol_checkpoints_route_id_patrol_routes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_patrol_checkpoints_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_checkpoints")),
        sa.UniqueConstraint("station_id", "code", name=op.f("uq_patrol_checkpoints_station_id_code")),
    )
    op.create_index(
        "ix_patrol_checkpoints_route_id_position_id",
        "patrol_checkpoints",
        ["route_id", "position", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_patrol_checkpoints_route_id_position_id", table_name="patrol_checkpoints")
    op.drop_table("patrol_checkpoints")
    op.drop_index("ix_patrol_routes_station_id_id", table_name="patrol_routes")
    op.drop_table("patrol_routes")
