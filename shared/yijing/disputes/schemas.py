from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema
from sqlmodel import col

from yijing.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeFollowup,
    DisputeKind,
    DisputeMediator,
    DisputeOutcome,
    DisputeParty,
    DisputeSource,
    DisputeStatus,
    EscalationTarget,
    FollowupOutcome,
    MediatorRole,
    PartyRole,
)
from yijing.i18n import invalid
from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.org.schemas import Location
from yijing.personal import IdCardNumber, MobileNumber, PersonalDataProtector
from yijing.types import JSON_INTEGER, NOT_BLANK, Address, CalendarDate, Instant, Name, QueryBool

Account = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK)]
AgreementText = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NOT_BLANK)]
Reference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK),
    Field(description="The receiving body's reference: a police case number, the committee's file number"),
]
# Yuan, to the fen, as a decimal string ("200.00"): a JSON number would pass through binary floating point.
AMOUNT_PATTERN = r"^(?!0+(\.0+)?$)[0-9]{1,10}(\.[0-9]{1,2})?$"


def _decimal_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise invalid('must be a decimal string such as "200.00"', zh="必须是十进制数字字符串，如“200.00”")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(gt=0, max_digits=12, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["200.00"]}),
]
Days = Annotated[int, Field(ge=1, le=90), JSON_INTEGER]

# Chinese labels, for notifications and people reading exports.
KIND_LABELS_ZH = {
    DisputeKind.PARKING: "停车纠纷",
    DisputeKind.QUARREL: "口角纠纷",
    DisputeKind.NEIGHBOUR: "邻里纠纷",
    DisputeKind.CONSUMER: "消费纠纷",
    DisputeKind.TRAFFIC: "交通纠纷",
    DisputeKind.RENT_PROPERTY: "租赁物业纠纷",
    DisputeKind.OTHER: "其他纠纷",
}
STATUS_LABELS_ZH = {
    DisputeStatus.REPORTED: "已上报",
    DisputeStatus.MEDIATING: "调解中",
    DisputeStatus.RESOLVED: "已化解",
    DisputeStatus.ESCALATED: "已移交",
    DisputeStatus.FAILED: "调解未成",
}

_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_USER_ID = "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80"
_VOLUNTEER_ID = "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"
_DISPUTE_ID = "0193a6a4-aaaa-7c3d-8f2a-3b4c5d6e7f80"
_FOLLOWUP_ID = "0193a6a4-bbbb-7c3d-8f2a-3b4c5d6e7f80"
_PARTY: dict[str, Any] = {
    "name": "林某",
    "role": "applicant",
    "phone": "13812345678",
    "id_card_number": "11010519491231002X",
}
_EXAMPLE: dict[str, Any] = {
    "site_id": _SITE_ID,
    "kind": "parking",
    "source": "resident",
    "address": "滨河路夜市 B 区入口",
    "location": {"latitude": 26.1526, "longitude": 119.1417},
    "occurred_at": "2023-10-13T20:05:00+08:00",
    "account": "两车主因占用摊位卸货车位发生争吵，围观群众十余人",
    "risk_of_violence": True,
}


class PartyCreate(BaseModel):
    """A party to the dispute. Phone and ID-card numbers are optional (a party may not give them); given,
    they are validated, stored sealed and shown masked."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PARTY]})

    name: Name
    role: PartyRole = PartyRole.OTHER
    phone: MobileNumber | None = None
    id_card_number: IdCardNumber | None = None


class DisputeCreate(BaseModel):
    """The station is the site's station. A case captured offline carries the device's own ``client_id``
    (and ``reported_at``): sending it again returns the stored case instead of a second one. A dispute met
    on patrol (``source`` patrol) names its patrol; a patrol log entry of kind ``dispute`` can open the case
    itself."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "parties": [_PARTY, {"name": "陈某", "role": "respondent"}],
                    "mediator_volunteer_ids": [_VOLUNTEER_ID],
                    "client_id": "6f1c2b9e-3d4a-4b5c-9d8e-7f6a5b4c3d2e",
                    "reported_at": "2023-10-13T20:07:00+08:00",
                }
            ]
        },
    )

    site_id: uuid.UUID
    kind: DisputeKind
    source: DisputeSource = DisputeSource.OTHER
    patrol_id: uuid.UUID | None = Field(
        default=None, description="The patrol it was met on: required for, and only with, source patrol"
    )
    address: Address | None = None
    location: Location | None = None
    occurred_at: Instant | None = Field(
        default=None, description="When it broke out; by default when it was reported"
    )
    reported_at: Instant | None = Field(
        default=None,
        description="When it was reported, if earlier than it reaches the service (offline capture): at most "
        "30 days ago. The time to first intervention runs from here",
    )
    account: Account = Field(description="A short account of what happened (简要案情)")
    risk_of_violence: bool = Field(default=False, description="Whether it risked turning into a fight")
    parties: list[PartyCreate] = Field(default_factory=list, max_length=20)
    party_count: Annotated[int, Field(ge=0, le=1000), JSON_INTEGER] | None = Field(
        default=None,
        description="How many parties there were; by default the number listed, and never fewer",
    )
    mediator_volunteer_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=10, description="Active volunteers of the station who mediate"
    )
    mediator_user_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=5,
        description="Accounts of the site's officer or assistants (holding the post now) who mediate",
    )
    client_id: uuid.UUID | None = Field(
        default=None, description="The reporting device's own id for this case (offline capture)"
    )


class DisputeUpdate(BaseModel):
    """Staff correct a case. The status changes only through the actions; null clears ``address`` and
    ``location``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"kind": "quarrel", "risk_of_violence": False}]}
    )

    site_id: uuid.UUID | None = None
    kind: DisputeKind | None = None
    address: Address | None = None
    location: Location | None = None
    occurred_at: Instant | None = None
    account: Account | None = None
    risk_of_violence: bool | None = None


class DisputeFilters(BaseModel):
    """The disputes list's filters (all of them together; a repeated ``status`` means any of them)."""

    station_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    status: Annotated[
        list[DisputeStatus] | None, Field(description="Any of these statuses (repeat the parameter)")
    ] = None
    kind: DisputeKind | None = None
    source: DisputeSource | None = None
    risk_of_violence: QueryBool | None = None
    mediator_user_id: Annotated[uuid.UUID | None, Field(description="Mediated by this account")] = None
    mediator_volunteer_id: Annotated[uuid.UUID | None, Field(description="Mediated by this volunteer")] = None
    followup_due_by: Annotated[
        CalendarDate | None,
        Field(description="With a follow-up visit still to make, due on or before this day"),
    ] = None
    reported_after: Annotated[Instant | None, Field(description="Reported at or after")] = None
    reported_before: Annotated[Instant | None, Field(description="Reported before")] = None
    updated_after: Instant | None = None


_KINDS, _SOURCES, _STATUSES = by_value(DisputeKind), by_value(DisputeSource), by_value(DisputeStatus)
_OUTCOMES, _DESTINATIONS = by_value(DisputeOutcome), by_value(EscalationTarget)
_PARTY_ROLES, _MEDIATOR_ROLES = by_value(PartyRole), by_value(MediatorRole)
_VISIT_OUTCOMES = by_value(FollowupOutcome)


class PartyRead(BaseModel):
    name: str
    role: PartyRole
    phone: str | None = Field(description="Masked unless personal_data is full; null when not given")
    id_card_number: str | None = Field(description="Masked unless personal_data is full; null when not given")

    @classmethod
    def of(cls, party: DisputeParty | LeanRow, reveal: PersonalDataProtector | None = None) -> PartyRead:
        """Masked (from a record or a lean row of :data:`PARTY_SHOWN`), or opened with ``reveal`` (from a
        record or a lean row of :data:`PARTY_SEALED`)."""
        if reveal is None:
            phone, id_card = party.phone_masked, party.id_card_masked
        else:
            phone = reveal.open(party.phone_sealed) if party.phone_sealed is not None else None
            id_card = reveal.open(party.id_card_sealed) if party.id_card_sealed is not None else None
        return read_model(
            cls, name=party.name, role=_PARTY_ROLES[party.role], phone=phone, id_card_number=id_card
        )


# The columns a party's read model is made of (with the dispute it belongs to), masked or to be opened.
PARTY_SHOWN = (
    col(DisputeParty.dispute_id), col(DisputeParty.name), col(DisputeParty.role),
    col(DisputeParty.phone_masked), col(DisputeParty.id_card_masked),
)  # fmt: skip
PARTY_SEALED = (
    col(DisputeParty.dispute_id), col(DisputeParty.name), col(DisputeParty.role),
    col(DisputeParty.phone_sealed), col(DisputeParty.id_card_sealed),
)  # fmt: skip


class MediatorRead(BaseModel):
    role: MediatorRole
    volunteer_id: uuid.UUID | None
    user_id: uuid.UUID | None = Field(description="The mediator's account, if they have one")
    added_at: datetime

    @classmethod
    def of(cls, mediator: DisputeMediator | LeanRow) -> MediatorRead:
        """From a record or a lean row of :data:`MEDIATOR_SHOWN`'s columns, as stored."""
        return read_model(
            cls,
            role=_MEDIATOR_ROLES[mediator.role],
            volunteer_id=mediator.volunteer_id,
            user_id=mediator.user_id,
            added_at=mediator.added_at,
        )


MEDIATOR_SHOWN = (
    col(DisputeMediator.dispute_id), col(DisputeMediator.role), col(DisputeMediator.volunteer_id),
    col(DisputeMediator.user_id), col(DisputeMediator.added_at),
)  # fmt: skip


class FollowupRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _FOLLOWUP_ID,
                    "dispute_id": _DISPUTE_ID,
                    "due_on": "2023-10-20",
                    "reminded_at": "2023-10-20T09:00:00+08:00",
                    "overdue": False,
                    "outcome": "holding",
                    "note": "双方已按协议履行，未再发生争执",
                    "visited_at": "2023-10-20T15:30:00+08:00",
                    "visited_by": _USER_ID,
                    "created_at": "2023-10-13T20:40:00+08:00",
                }
            ]
        }
    )

    id: uuid.UUID
    dispute_id: uuid.UUID
    due_on: date = Field(description="The day the visit is due, in the station's time zone")
    reminded_at: datetime | None = Field(description="When the mediators were reminded of it")
    overdue: bool = Field(description="Not made by its day")
    outcome: FollowupOutcome | None = Field(description="null: still to make")
    note: str | None
    visited_at: datetime | None
    visited_by: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, followup: DisputeFollowup | LeanRow) -> FollowupRead:
        """From a record or a lean row of :data:`FOLLOWUP_SHOWN`'s columns, as stored."""
        return read_model(
            cls,
            **{name: getattr(followup, name) for name in _FOLLOWUP_AS_STORED},
            outcome=None if followup.outcome is None else _VISIT_OUTCOMES[followup.outcome],
        )


_FOLLOWUP_AS_STORED = tuple(name for name in FollowupRead.model_fields if name != "outcome")
FOLLOWUP_SHOWN = tuple(col(getattr(DisputeFollowup, name)) for name in FollowupRead.model_fields)


class DisputeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": _DISPUTE_ID,
                    "station_id": _STATION_ID,
                    "patrol_id": None,
                    "reported_at": "2023-10-13T20:07:00+08:00",
                    "party_count": 2,
                    "parties": [
                        {
                            "name": "林某",
                            "role": "applicant",
                            "phone": "138****5678",
                            "id_card_number": "1101**********002X",
                        },
                        {"name": "陈某", "role": "respondent", "phone": None, "id_card_number": None},
                    ],
                    "personal_data": "masked",
                    "mediators": [
                        {
                            "role": "volunteer",
                            "volunteer_id": _VOLUNTEER_ID,
                            "user_id": _USER_ID,
                            "added_at": "2023-10-13T20:07:00+08:00",
                        }
                    ],
                    "reporter_id": _USER_ID,
                    "client_id": None,
                    "status": "resolved",
                    "allowed_actions": ["reopen"],
                    "outcome": "written_agreement",
                    "agreement_text": "双方同意错峰使用卸货车位，晚八点后车位归摊位使用",
                    "compensation_amount": None,
                    "escalated_to": None,
                    "escalation_reference": None,
                    "failure_reason": None,
                    "mediating_at": "2023-10-13T20:11:00+08:00",
                    "intervention_seconds": 240,
                    "resolved_at": "2023-10-13T20:40:00+08:00",
                    "resolution_seconds": 1980,
                    "closed_at": "2023-10-13T20:40:00+08:00",
                    "next_followup_on": "2023-10-20",
                    "version": 3,
                    "created_at": "2023-10-13T20:07:02+08:00",
                    "updated_at": "2023-10-13T20:40:00+08:00",
                }
            ]
        }
    )

    id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID
    kind: DisputeKind
    source: DisputeSource
    patrol_id: uuid.UUID | None = Field(description="The patrol it was met on (source patrol)")
    address: str | None
    location: Location | None
    occurred_at: datetime
    reported_at: datetime
    account: str
    risk_of_violence: bool
    party_count: int
    parties: list[PartyRead]
    personal_data: Literal["masked", "full"] = Field(description="How the parties' numbers are shown")
    mediators: list[MediatorRead]
    reporter_id: uuid.UUID = Field(description="The account that reported it")
    client_id: uuid.UUID | None
    status: DisputeStatus
    allowed_actions: list[str] = Field(description="The actions the status allows now")
    outcome: DisputeOutcome | None = Field(description="How it was resolved (status resolved)")
    agreement_text: str | None = Field(description="The written agreement (outcome written_agreement)")
    compensation_amount: Decimal | None = Field(
        description="Yuan, as a decimal string (outcome compensation)"
    )
    escalated_to: EscalationTarget | None = Field(description="Where it was handed on (status escalated)")
    escalation_reference: str | None
    failure_reason: str | None = Field(description="Why mediation failed (status failed)")
    mediating_at: datetime | None = Field(description="The first intervention")
    intervention_seconds: int | None = Field(description="From the report to the first intervention")
    resolved_at: datetime | None
    resolution_seconds: int | None = Field(description="From the report to its resolution")
    closed_at: datetime | None = Field(description="When it was resolved, escalated or failed")
    next_followup_on: date | None = Field(description="The day the visit still to make is due")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls,
        dispute: Dispute | LeanRow,
        *,
        parties: list[PartyRead],
        personal_data: Literal["masked", "full"],
        mediators: list[MediatorRead],
        allowed_actions: list[str],
        next_followup_on: date | None,
    ) -> DisputeRead:
        """From a record or a lean row of :data:`SHOWN`'s columns, as stored: not validated again (a lean
        row's enumerations are the driver's strings)."""
        location = None
        if dispute.latitude is not None and dispute.longitude is not None:
            location = Location.model_construct(latitude=dispute.latitude, longitude=dispute.longitude)
        return read_model(
            cls,
            **{name: getattr(dispute, name) for name in _STORED_AS_SHOWN},
            kind=_KINDS[dispute.kind],
            source=_SOURCES[dispute.source],
            status=_STATUSES[dispute.status],
            outcome=None if dispute.outcome is None else _OUTCOMES[dispute.outcome],
            escalated_to=None if dispute.escalated_to is None else _DESTINATIONS[dispute.escalated_to],
            location=location,
            parties=parties,
            personal_data=personal_data,
            mediators=mediators,
            allowed_actions=allowed_actions,
            next_followup_on=next_followup_on,
        )


# The read model's fields that are columns of the dispute, shown as stored.
_ENUMERATIONS = ("kind", "source", "status", "outcome", "escalated_to")
_NOT_COLUMNS = {"location", "parties", "personal_data", "mediators", "allowed_actions", "next_followup_on"}
_STORED_AS_SHOWN = tuple(
    name for name in DisputeRead.model_fields if name not in {*_NOT_COLUMNS, *_ENUMERATIONS}
)
# The columns a dispute's read model is made of: what a lean read of disputes selects.
SHOWN = tuple(
    col(getattr(Dispute, name)) for name in (*_STORED_AS_SHOWN, *_ENUMERATIONS, "latitude", "longitude")
)


class ActionNote(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "到场分开双方"}]})

    note: Note | None = Field(default=None, description="Kept in the dispute's history")


class MediateAction(ActionNote):
    """Someone steps in: the caller (a volunteer, or the site's officer or assistant) becomes a mediator,
    with the volunteers named here."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "到场分开双方", "mediator_volunteer_ids": [_VOLUNTEER_ID]}]},
    )

    mediator_volunteer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)


class ResolveAction(ActionNote):
    """``written_agreement`` needs ``agreement_text``; ``compensation`` needs ``compensation_amount``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "written_agreement",
                    "agreement_text": "双方同意错峰使用卸货车位，晚八点后车位归摊位使用",
                    "note": "签订调解协议",
                },
                {"outcome": "compensation", "compensation_amount": "200.00"},
            ]
        },
    )

    outcome: DisputeOutcome
    agreement_text: AgreementText | None = None
    compensation_amount: Amount | None = Field(default=None, description="Yuan, to the fen")


class EscalateAction(ActionNote):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"escalated_to": "police_case", "reference": "闽侯甘蔗 2023-1013-07", "note": "一方受伤"}
            ]
        },
    )

    escalated_to: EscalationTarget
    reference: Reference


class FailAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "一方拒绝调解，已告知诉讼途径"}]}
    )

    reason: Note = Field(description="Why mediation failed")


class DisputeReopenAction(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "双方再次发生争执"}]})

    note: Note = Field(description="Why it is open again")


class FollowupRecord(BaseModel):
    """The visit still to make, made: ``relapsed`` reopens the dispute (it is mediated again)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "holding", "note": "双方已按协议履行，未再发生争执"}]},
    )

    outcome: FollowupOutcome
    note: Note | None = None
    visited_at: Instant | None = Field(
        default=None, description="When the visit was made (not in the future); by default now"
    )


class DisputeEventRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-8888-7c3d-8f2a-3b4c5d6e7f80",
                    "action": "resolve",
                    "from_status": "mediating",
                    "to_status": "resolved",
                    "note": "签订调解协议",
                    "actor_id": _USER_ID,
                    "details": {"outcome": "written_agreement"},
                    "occurred_at": "2023-10-13T20:40:00+08:00",
                }
            ]
        },
    )

    id: uuid.UUID
    action: str = Field(
        description="report, update, the action taken (mediate, resolve, escalate, fail, reopen), "
        "followup (a visit made), remind or overdue (of a visit)"
    )
    from_status: DisputeStatus | None = Field(description="Set on actions")
    to_status: DisputeStatus | None = Field(description="Set on actions")
    note: str | None
    actor_id: uuid.UUID | None = Field(description="The user who acted; null for the system")
    details: dict[str, Any]
    occurred_at: datetime

    @classmethod
    def of(cls, event: DisputeEvent | LeanRow) -> DisputeEventRead:
        """From a record or a lean row of :data:`EVENT_SHOWN`'s columns, as stored."""
        return read_model(
            cls,
            id=event.id,
            action=event.action,
            from_status=None if event.from_status is None else _STATUSES[event.from_status],
            to_status=None if event.to_status is None else _STATUSES[event.to_status],
            note=event.note,
            actor_id=event.actor_id,
            details=event.details,
            occurred_at=event.occurred_at,
        )


EVENT_SHOWN = tuple(col(getattr(DisputeEvent, name)) for name in DisputeEventRead.model_fields)


class DisputeSettingsRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"station_id": _STATION_ID, "followup_days": 7, "default_followup_days": 7}]
        }
    )

    station_id: uuid.UUID
    followup_days: int = Field(description="Days after resolution that the follow-up visit is due")
    default_followup_days: int = Field(description="The service's default")


class DisputeSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"followup_days": 10}]})

    followup_days: Days


class DisputeFigures(BaseModel):
    reported: int = Field(description="Reported in the month")
    by_kind: dict[DisputeKind, int] = Field(description="Reported in the month, by kind (every kind)")
    resolved: int = Field(description="Resolved in the month")
    by_outcome: dict[DisputeOutcome, int] = Field(description="Resolved in the month, by outcome")
    escalated: int = Field(description="Escalated in the month")
    by_destination: dict[EscalationTarget, int] = Field(description="Escalated in the month, by destination")
    failed: int = Field(description="Failed in the month")
    interventions: int = Field(description="First interventions in the month")
    within_10_minutes: int = Field(description="Of those, within 10 minutes of the report")
    share_within_10_minutes: float | None = Field(description="within_10_minutes / interventions")
    median_minutes_to_resolution: float | None = Field(
        description="Over the disputes resolved in the month, from report to resolution"
    )


class SiteDisputeFigures(DisputeFigures):
    site_id: uuid.UUID
    site_name: str
    station_id: uuid.UUID


_FIGURES: dict[str, Any] = {
    "reported": 31,
    "by_kind": {
        "parking": 14, "quarrel": 9, "neighbour": 3, "consumer": 2, "traffic": 1, "rent_property": 1,
        "other": 1,
    },
    "resolved": 28,
    "by_outcome": {"settled_on_spot": 19, "written_agreement": 4, "apology": 3, "compensation": 2},
    "escalated": 2,
    "by_destination": {"police_case": 1, "mediation_committee": 1, "court": 0, "other_agency": 0},
    "failed": 0,
    "interventions": 30,
    "within_10_minutes": 24,
    "share_within_10_minutes": 0.8,
    "median_minutes_to_resolution": 22.5,
}  # fmt: skip


class DisputeSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2023-10",
                    "total": _FIGURES,
                    "sites": [
                        {
                            **_FIGURES,
                            "site_id": _SITE_ID,
                            "site_name": "滨河路夜市",
                            "station_id": _STATION_ID,
                        }
                    ],
                }
            ]
        }
    )

    month: str = Field(description="YYYY-MM, each site's month in its station's time zone")
    total: DisputeFigures = Field(description="Over every site counted")
    sites: list[SiteDisputeFigures]
