"""patrols and their members

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrols",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("planned_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leader_volunteer_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "completed",
                "cancelled",
                "missed",
                name="patrolstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("planned_end > planned_start", name=op.f("ck_patrols_ends_after_start")),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'completed', 'cancelled', 'missed')",
            name=op.f("ck_patrols_status_known"),
        ),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_patrols_group_id_groups")),
        sa.ForeignKeyConstraint(
            ["leader_volunteer_id"], ["volunteers.id"], name=op.f("fk_patrols_leader_volunteer_id_volunteers")
        ),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["patrol_routes.id"],
            name=op.f("fk_patrols_route_id_patrol_routes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_patrols_site_id_sites")),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name=op.f("fk_patrols_station_id_stations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
    )
    op.create_index("ix_patrols_site_id_planned_start", "patrols", ["site_id", "planned_start"], unique=False)
    op.create_index("ix_patrols_station_id_id", "patrols", ["station_id", "id"], unique=False)
    op.create_table(
        "patrol_members",
        sa.Column("patrol_id", sa.Uuid(), nullable=False),
        sa.Column("volunteer_id", sa.Uuid(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("named", "group", name="membersource", native_enum=False, length=32),
            nullable=False,
        ),
        sa.CheckConstraint("source IN ('named', 'group')", name=op.f("ck_patrol_members_source_known")),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_patrol_members_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_patrol_members_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("patrol_id", "volunteer_id", name=op.f("pk_patrol_members")),
    )


def downgrade() -> None:
    op.drop_table("patrol_members")
    op.drop_index("ix_patrols_station_id_id", table_name="patrols")
    op.drop_index("ix_patrols_site_id_planned_start", table_name="patrols")
    op.drop_table("patrols")
