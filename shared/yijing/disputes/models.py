from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant, json_column, one_of
from yijing.ids import new_id


class DisputeKind(StrEnum):
    PARKING = "parking"  # 停车
    QUARREL = "quarrel"  # 口角
    NEIGHBOUR = "neighbour"  # 邻里
    CONSUMER = "consumer"  # 消费
    TRAFFIC = "traffic"  # 交通
    RENT_PROPERTY = "rent_property"  # 租赁 / 物业
    OTHER = "other"


class DisputeSource(StrEnum):
    """How the dispute came in."""

    PATROL = "patrol"  # met on patrol: linked to the patrol (and its log entry)
    RESIDENT = "resident"  # 群众反映
    REPORT = "report"  # a bulletin or a report through the channel
    CAPTAIN = "captain"  # the group's captain of the week
    OTHER = "other"


class DisputeStatus(StrEnum):
    REPORTED = "reported"
    MEDIATING = "mediating"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    FAILED = "failed"


OPEN_STATUSES = frozenset({DisputeStatus.REPORTED, DisputeStatus.MEDIATING})


class DisputeOutcome(StrEnum):
    """How a resolved dispute was settled."""

    SETTLED_ON_SPOT = "settled_on_spot"  # 当场化解
    WRITTEN_AGREEMENT = "written_agreement"  # 书面调解协议 (its text is kept)
    APOLOGY = "apology"  # 赔礼道歉
    COMPENSATION = "compensation"  # 赔偿 (its amount is kept)


class EscalationTarget(StrEnum):
    """Where an escalated dispute was handed on."""

    POLICE_CASE = "police_case"  # 转警情 / 立案
    MEDIATION_COMMITTEE = "mediation_committee"  # 人民调解委员会
    COURT = "court"  # 法院
    OTHER_AGENCY = "other_agency"  # 其他部门


class PartyRole(StrEnum):
    APPLICANT = "applicant"  # 申请方: who raised it
    RESPONDENT = "respondent"  # 被申请方
    OTHER = "other"  # 其他当事人


class MediatorRole(StrEnum):
    VOLUNTEER = "volunteer"
    OFFICER = "officer"
    ASSISTANT = "assistant"


class FollowupOutcome(StrEnum):
    HOLDING = "holding"  # 协议履行 / 未再发生
    RELAPSED = "relapsed"  # 反复: the dispute is reopened
    UNREACHABLE = "unreachable"  # 联系不上


class Dispute(SQLModel, table=True):
    """One dispute case. Times: ``occurred_at`` (when it broke out), ``reported_at`` (when someone told the
    programme of it), ``mediating_at`` (the first intervention) and ``closed_at`` (resolved, escalated or
    failed); the two clocks are stored in seconds when they stop."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(one_of("kind", DisputeKind), name="kind_known"),
        CheckConstraint(one_of("source", DisputeSource), name="source_known"),
        CheckConstraint(one_of("status", DisputeStatus), name="status_known"),
        CheckConstraint(f"outcome IS NULL OR {one_of('outcome', DisputeOutcome)}", name="outcome_known"),
        CheckConstraint(
            f"escalated_to IS NULL OR {one_of('escalated_to', EscalationTarget)}", name="escalated_to_known"
        ),
        CheckConstraint("status <> 'resolved' OR outcome IS NOT NULL", name="resolved_has_outcome"),
        CheckConstraint(
            "outcome IS DISTINCT FROM 'written_agreement' OR agreement_text IS NOT NULL",
            name="agreement_has_text",
        ),
        CheckConstraint(
            "outcome IS DISTINCT FROM 'compensation' OR compensation_amount IS NOT NULL",
            name="compensation_has_amount",
        ),
        CheckConstraint(
            "status <> 'escalated' OR (escalated_to IS NOT NULL AND escalation_reference IS NOT NULL)",
            name="escalation_names_destination",
        ),
        CheckConstraint("status <> 'failed' OR failure_reason IS NOT NULL", name="failure_has_reason"),
        CheckConstraint("source <> 'patrol' OR patrol_id IS NOT NULL", name="patrol_source_links_patrol"),
        CheckConstraint("party_count >= 0", name="party_count_not_negative"),
        # An offline capture sent twice is stored once: the device's own id for it is unique per station.
        UniqueConstraint("station_id", "client_id"),
        Index("ix_disputes_station_id_id", "station_id", "id"),
        Index("ix_disputes_station_id_status_id", "station_id", "status", "id"),
        Index("ix_disputes_site_id_id", "site_id", "id"),
        # The monthly summary and the statistics read a month's disputes by report, first intervention and
        # closing time.
        Index("ix_disputes_station_id_reported_at", "station_id", "reported_at"),
        Index("ix_disputes_station_id_mediating_at", "station_id", "mediating_at"),
        Index("ix_disputes_station_id_closed_at", "station_id", "closed_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    # A site with disputes cannot be deleted (RESTRICT).
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    kind: DisputeKind = enum_column(DisputeKind, default=DisputeKind.OTHER)
    source: DisputeSource = enum_column(DisputeSource, default=DisputeSource.OTHER)
    # The patrol it was met on (source patrol).
    patrol_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("patrols.id"), nullable=True, index=True)
    )
    address: str | None = Field(default=None, max_length=200)
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    occurred_at: datetime = instant()
    reported_at: datetime = instant()
    account: str = Field(max_length=2000)  # 简要案情
    risk_of_violence: bool = Field(default=False)
    party_count: int = Field(default=0)
    reporter_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    # Offline capture: the device's own id for the case.
    client_id: uuid.UUID | None = Field(default=None)
    status: DisputeStatus = enum_column(DisputeStatus, default=DisputeStatus.REPORTED)
    outcome: str | None = Field(default=None, max_length=32)  # a DisputeOutcome
    agreement_text: str | None = Field(default=None, max_length=4000)
    # In yuan, to the fen.
    compensation_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2), nullable=True))
    escalated_to: str | None = Field(default=None, max_length=32)  # an EscalationTarget
    escalation_reference: str | None = Field(default=None, max_length=100)
    failure_reason: str | None = Field(default=None, max_length=2000)
    # The first intervention, and the clocks: reported → first intervention, reported → resolved.
    mediating_at: datetime | None = instant(nullable=True)
    intervention_seconds: int | None = Field(default=None)
    resolved_at: datetime | None = instant(nullable=True)
    resolution_seconds: int | None = Field(default=None)
    closed_at: datetime | None = instant(nullable=True)
    version: int = Field(default=1)
    created_at: datetime = instant()
    updated_at: datetime = instant(index=True)


class DisputeParty(SQLModel, table=True):
    """A party to a dispute. Phone and ID-card numbers, when given, are sealed, fingerprinted and masked like
    volunteers' (see yijing.personal)."""

    __tablename__ = "dispute_parties"
    __table_args__ = (
        CheckConstraint(one_of("role", PartyRole), name="role_known"),
        UniqueConstraint("dispute_id", "position"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dispute_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False)
    )
    # The order the parties were given in.
    position: int
    name: str = Field(max_length=100)
    role: PartyRole = enum_column(PartyRole, default=PartyRole.OTHER)
    phone_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_fingerprint: str | None = Field(default=None, max_length=64)
    phone_masked: str | None = Field(default=None, max_length=11)
    id_card_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    id_card_fingerprint: str | None = Field(default=None, max_length=64)
    id_card_masked: str | None = Field(default=None, max_length=18)


class DisputeMediator(SQLModel, table=True):
    """Who mediates: a volunteer (by their volunteer record, and their account if they have one) or the
    site's officer or assistant (by account)."""

    __tablename__ = "dispute_mediators"
    __table_args__ = (
        CheckConstraint(one_of("role", MediatorRole), name="role_known"),
        CheckConstraint("volunteer_id IS NOT NULL OR user_id IS NOT NULL", name="names_someone"),
        UniqueConstraint("dispute_id", "volunteer_id"),
        UniqueConstraint("dispute_id", "user_id"),
        Index("ix_dispute_mediators_user_id", "user_id"),
        Index("ix_dispute_mediators_volunteer_id", "volunteer_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dispute_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False)
    )
    role: MediatorRole = enum_column(MediatorRole, default=MediatorRole.VOLUNTEER)
    volunteer_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("volunteers.id"), nullable=True)
    )
    user_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    added_at: datetime = instant()


class DisputeEvent(SQLModel, table=True):
    """One entry of a dispute's history: the report, an action (with the status before and after), a
    correction, a follow-up visit, a reminder."""

    __tablename__ = "dispute_events"
    __table_args__ = (Index("ix_dispute_events_dispute_id_id", "dispute_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dispute_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False)
    )
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    # The user who acted; null for the system (the follow-up job).
    actor_id: uuid.UUID | None = Field(default=None)
    details: dict[str, Any] = json_column()
    occurred_at: datetime = instant()


class DisputeFollowup(SQLModel, table=True):
    """A follow-up visit (回访), scheduled when a dispute is resolved and recorded by a mediator or staff.
    A dispute has at most one visit still to make."""

    __tablename__ = "dispute_followups"
    __table_args__ = (
        CheckConstraint(f"outcome IS NULL OR {one_of('outcome', FollowupOutcome)}", name="outcome_known"),
        CheckConstraint("(outcome IS NULL) = (visited_at IS NULL)", name="visited_has_outcome"),
        Index(
            "uq_dispute_followups_one_pending",
            "dispute_id",
            unique=True,
            postgresql_where=text("outcome IS NULL"),
        ),
        Index("ix_dispute_followups_dispute_id_id", "dispute_id", "id"),
        # The worker reads the pending visits by due day.
        Index("ix_dispute_followups_pending_due_on", "due_on", postgresql_where=text("outcome IS NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dispute_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False)
    )
    station_id: uuid.UUID = Field(foreign_key="stations.id")
    # The day (station time) the visit is due.
    due_on: date
    # Set once by the worker: the mediators were reminded on the due day; the visit is past its day.
    reminded_at: datetime | None = instant(nullable=True)
    overdue: bool = Field(default=False)
    outcome: str | None = Field(default=None, max_length=32)  # a FollowupOutcome
    note: str | None = Field(default=None, max_length=2000)
    visited_at: datetime | None = instant(nullable=True)
    visited_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = instant()


class DisputeSettings(SQLModel, table=True):
    """A station's dispute settings; a station without a row uses the defaults."""

    __tablename__ = "dispute_settings"

    station_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    )
    followup_days: int
    updated_at: datetime = instant()
