"""disputes: cases, their parties and mediators, history, follow-up visits, station settings; patrol log
entries link their dispute

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:21:53.878871
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispute_settings",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("followup_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_dispute_settings_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_dispute_settings")),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "parking",
                "quarrel",
                "neighbour",
                "consumer",
                "traffic",
                "rent_property",
                "other",
                name="disputekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "patrol",
                "resident",
                "report",
                "captain",
                "other",
                name="disputesource",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("patrol_id", sa.Uuid(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("account", sa.String(length=2000), nullable=False),
        sa.Column("risk_of_violence", sa.Boolean(), nullable=False),
        sa.Column("party_count", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "mediating",
                "resolved",
                "escalated",
                "failed",
                name="disputestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("agreement_text", sa.String(length=4000), nullable=True),
        sa.Column("compensation_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("escalated_to", sa.String(length=32), nullable=True),
        sa.Column("escalation_reference", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.String(length=2000), nullable=True),
        sa.Column("mediating_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("intervention_seconds", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "escalated_to IS NULL OR escalated_to IN "
            "('police_case', 'mediation_committee', 'court', 'other_agency')",
            name=op.f("ck_disputes_escalated_to_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('parking', 'quarrel', 'neighbour', 'consumer', 'traffic', 'rent_property', 'other')",
            name=op.f("ck_disputes_kind_known"),
        ),
        sa.CheckConstraint(
            "outcome IS DISTINCT FROM 'compensation' OR compensation_amount IS NOT NULL",
            name=op.f("ck_disputes_compensation_has_amount"),
        ),
        sa.CheckConstraint(
            "outcome IS DISTINCT FROM 'written_agreement' OR agreement_text IS NOT NULL",
            name=op.f("ck_disputes_agreement_has_text"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN "
            "('settled_on_spot', 'written_agreement', 'apology', 'compensation')",
            name=op.f("ck_disputes_outcome_known"),
        ),
        sa.CheckConstraint(
            "source <> 'patrol' OR patrol_id IS NOT NULL", name=op.f("ck_disputes_patrol_source_links_patrol")
        ),
        sa.CheckConstraint(
            "source IN ('patrol', 'resident', 'report', 'captain', 'other')",
            name=op.f("ck_disputes_source_known"),
        ),
        sa.CheckConstraint(
            "status <> 'escalated' OR (escalated_to IS NOT NULL AND escalation_reference IS NOT NULL)",
            name=op.f("ck_disputes_escalation_names_destination"),
        ),
        sa.CheckConstraint(
            "status <> 'failed' OR failure_reason IS NOT NULL", name=op.f("ck_disputes_failure_has_reason")
        ),
        sa.CheckConstraint(
            "status <> 'resolved' OR outcome IS NOT NULL", name=op.f("ck_disputes_resolved_has_outcome")
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'mediating', 'resolved', 'escalated', 'failed')",
            name=op.f("ck_disputes_status_known"),
        ),
        sa.CheckConstraint("party_count >= 0", name=op.f("ck_disputes_party_count_not_negative")),
        sa.ForeignKeyConstraint(["patrol_id"], ["patrols.id"], name=op.f("fk_disputes_patrol_id_patrols")),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], name=op.f("fk_disputes_reporter_id_users")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_disputes_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_disputes_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("station_id", "client_id", name=op.f("uq_disputes_station_id_client_id")),
    )
    op.create_index(op.f("ix_disputes_patrol_id"), "disputes", ["patrol_id"], unique=False)
    op.create_index(op.f("ix_disputes_reporter_id"), "disputes", ["reporter_id"], unique=False)
    op.create_index("ix_disputes_site_id_id", "disputes", ["site_id", "id"], unique=False)
    op.create_index("ix_disputes_station_id_closed_at", "disputes", ["station_id", "closed_at"], unique=False)
    op.create_index("ix_disputes_station_id_id", "disputes", ["station_id", "id"], unique=False)
    op.create_index(
        "ix_disputes_station_id_mediating_at", "disputes", ["station_id", "mediating_at"], unique=False
    )
    op.create_index(
        "ix_disputes_station_id_reported_at", "disputes", ["station_id", "reported_at"], unique=False
    )
    op.create_index(
        "ix_disputes_station_id_status_id", "disputes", ["station_id", "status", "id"], unique=False
    )
    op.create_index(op.f("ix_disputes_updated_at"), "disputes", ["updated_at"], unique=False)
    op.create_table(
        "dispute_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_events_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_events")),
    )
    op.create_index("ix_dispute_events_dispute_id_id", "dispute_events", ["dispute_id", "id"], unique=False)
    op.create_table(
        "dispute_followups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('holding', 'relapsed', 'unreachable')",
            name=op.f("ck_dispute_followups_outcome_known"),
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (visited_at IS NULL)", name=op.f("ck_dispute_followups_visited_has_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_followups_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_dispute_followups_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["visited_by"], ["users.id"], name=op.f("fk_dispute_followups_visited_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_followups")),
    )
    op.create_index(
        "ix_dispute_followups_dispute_id_id", "dispute_followups", ["dispute_id", "id"], unique=False
    )
    op.create_index(
        "ix_dispute_followups_pending_due_on",
        "dispute_followups",
        ["due_on"],
        unique=False,
        postgresql_where=sa.text("outcome IS NULL"),
    )
    op.create_index(
        "uq_dispute_followups_one_pending",
        "dispute_followups",
        ["dispute_id"],
        unique=True,
        postgresql_where=sa.text("outcome IS NULL"),
    )
    op.create_table(
        "dispute_mediators",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("volunteer", "officer", "assistant", name="mediatorrole", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("volunteer_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('volunteer', 'officer', 'assistant')", name=op.f("ck_dispute_mediators_role_known")
        ),
        sa.CheckConstraint(
            "volunteer_id IS NOT NULL OR user_id IS NOT NULL", name=op.f("ck_dispute_mediators_names_someone")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_mediators_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_dispute_mediators_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_dispute_mediators_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_mediators")),
        sa.UniqueConstraint("dispute_id", "user_id", name=op.f("uq_dispute_mediators_dispute_id_user_id")),
        sa.UniqueConstraint(
            "dispute_id", "volunteer_id", name=op.f("uq_dispute_mediators_dispute_id_volunteer_id")
        ),
    )
    op.create_index("ix_dispute_mediators_user_id", "dispute_mediators", ["user_id"], unique=False)
    op.create_index("ix_dispute_mediators_volunteer_id", "dispute_mediators", ["volunteer_id"], unique=False)
    op.create_table(
        "dispute_parties",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum("applicant", "respondent", "other", name="partyrole", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("phone_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=11), nullable=True),
        sa.Column("id_card_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id_card_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("id_card_masked", sa.String(length=18), nullable=True),
        sa.CheckConstraint(
            "role IN ('applicant', 'respondent', 'other')", name=op.f("ck_dispute_parties_role_known")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_parties_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_parties")),
        sa.UniqueConstraint("dispute_id", "position", name=op.f("uq_dispute_parties_dispute_id_position")),
    )
    op.add_column("patrol_logs", sa.Column("dispute_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_patrol_logs_dispute_id"), "patrol_logs", ["dispute_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_patrol_logs_dispute_id_disputes"), "patrol_logs", "disputes", ["dispute_id"], ["id"]
    )
    op.create_check_constraint(
        op.f("ck_patrol_logs_only_dispute_links_dispute"),
        "patrol_logs",
        "kind = 'dispute' OR dispute_id IS NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_patrol_logs_only_dispute_links_dispute"), "patrol_logs", type_="check")
    op.drop_constraint(op.f("fk_patrol_logs_dispute_id_disputes"), "patrol_logs", type_="foreignkey")
    op.drop_index(op.f("ix_patrol_logs_dispute_id"), table_name="patrol_logs")
    op.drop_column("patrol_logs", "dispute_id")
    op.drop_table("dispute_parties")
    op.drop_index("ix_dispute_mediators_volunteer_id", table_name="dispute_mediators")
    op.drop_index("ix_dispute_mediators_user_id", table_name="dispute_mediators")
    op.drop_table("dispute_mediators")
    op.drop_index(
        "uq_dispute_followups_one_pending",
        table_name="dispute_followups",
        postgresql_where=sa.text("outcome IS NULL"),
    )
    op.drop_index(
        "ix_dispute_followups_pending_due_on",
        table_name="dispute_followups",
        postgresql_where=sa.text("outcome IS NULL"),
    )
    op.drop_index("ix_dispute_followups_dispute_id_id", table_name="dispute_followups")
    op.drop_table("dispute_followups")
    op.drop_index("ix_dispute_events_dispute_id_id", table_name="dispute_events")
    op.drop_table("dispute_events")
    op.drop_index(op.f("ix_disputes_updated_at"), table_name="disputes")
    op.drop_index("ix_disputes_station_id_status_id", table_name="disputes")
    op.drop_index("ix_disputes_station_id_reported_at", table_name="disputes")
    op.drop_index("ix_disputes_station_id_id", table_name="disputes")
    op.drop_index("ix_disputes_station_id_mediating_at", table_name="disputes")
    op.drop_index("ix_disputes_station_id_closed_at", table_name="disputes")
    op.drop_index("ix_disputes_site_id_id", table_name="disputes")
    op.drop_index(op.f("ix_disputes_reporter_id"), table_name="disputes")
    op.drop_index(op.f("ix_disputes_patrol_id"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_table("dispute_settings")
