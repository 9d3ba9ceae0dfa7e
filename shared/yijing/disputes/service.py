"""Disputes: reports (offline ones stored once), reading within reach (parties' numbers masked, or in full
with an audit event), corrections, the mediation lifecycle with its clocks and history, follow-up visits
(回访) and each station's follow-up period.

Reach: staff see their stations' disputes; a volunteer sees those of their own site, those they reported and
those they mediate."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import STAFF, Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.conflicts import violated_constraint
from yijing.disputes import repository
from yijing.disputes.errors import DisputeNotFound, NoFollowupDue, NotAMediator
from yijing.disputes.models import (
    OPEN_STATUSES,
    Dispute,
    DisputeEvent,
    DisputeFollowup,
    DisputeMediator,
    DisputeOutcome,
    DisputeParty,
    DisputeSource,
    DisputeStatus,
    FollowupOutcome,
    MediatorRole,
)
from yijing.disputes.schemas import (
    KIND_LABELS_ZH,
    STATUS_LABELS_ZH,
    DisputeCreate,
    DisputeEventRead,
    DisputeFilters,
    DisputeRead,
    DisputeSettingsRead,
    DisputeSettingsUpdate,
    DisputeUpdate,
    EscalateAction,
    FailAction,
    FollowupRead,
    FollowupRecord,
    MediateAction,
    MediatorRead,
    PartyCreate,
    PartyRead,
    ResolveAction,
)
from yijing.errors import ClientIdTaken, Forbidden, InvalidInput, check_version
from yijing.ids import CLOCK_SKEW, OFFLINE_AT_MOST, new_id, utcnow
from yijing.kit import repository as kit
from yijing.kit.lifecycle import Lifecycle
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.kit.versions import apply_changes
from yijing.notifications.jobs import notify
from yijing.notifications.service import DeliverPayload
from yijing.org import repository as org_repository
from yijing.org import service as org_service
from yijing.org.errors import SiteNotFound
from yijing.org.models import Site
from yijing.patrols import service as patrols_service
from yijing.personal import PersonalDataProtector
from yijing.stats.jobs import queue_recompute
from yijing.teams import repository as teams_repository
from yijing.teams.service import site_staff
from yijing.volunteers import repository as volunteers_repository
from yijing.volunteers.models import VolunteerStatus
from yijing.volunteers.schemas import STATUS_LABELS_ZH as VOLUNTEER_STATUS_LABELS_ZH
from yijing.volunteers.service import REVEALING_ROLES

# Days after its resolution that a dispute is visited again, for a station that has not set its own.
DEFAULT_FOLLOWUP_DAYS = 7


class DisputeAction(StrEnum):
    MEDIATE = "mediate"  # reported → mediating: someone stepped in
    RESOLVE = "resolve"  # mediating → resolved, with its outcome
    ESCALATE = "escalate"  # mediating → escalated: handed on to the police, a committee, a court…
    FAIL = "fail"  # mediating → failed, with the reason
    REOPEN = "reopen"  # resolved or failed → mediating again: it flared up (a follow-up visit's relapse too)


# An escalated dispute is another body's case from then on: it is not reopened here.
LIFECYCLE = Lifecycle(
    "dispute",
    {
        DisputeAction.MEDIATE: ({DisputeStatus.REPORTED}, DisputeStatus.MEDIATING),
        DisputeAction.RESOLVE: ({DisputeStatus.MEDIATING}, DisputeStatus.RESOLVED),
        DisputeAction.ESCALATE: ({DisputeStatus.MEDIATING}, DisputeStatus.ESCALATED),
        DisputeAction.FAIL: ({DisputeStatus.MEDIATING}, DisputeStatus.FAILED),
        DisputeAction.REOPEN: ({DisputeStatus.RESOLVED, DisputeStatus.FAILED}, DisputeStatus.MEDIATING),
    },
    subject_zh="矛盾纠纷",
)


# Reading


def read(
    dispute: Dispute | LeanRow,
    parties: Sequence[DisputeParty | LeanRow],
    mediators: Sequence[DisputeMediator | LeanRow],
    next_followup_on: date | None,
    *,
    reveal: PersonalDataProtector | None = None,
) -> DisputeRead:
    """The read model (of a record or a lean row): the parties' numbers masked, or opened with ``reveal``
    (for a caller whose role may read them, the read audited)."""
    return DisputeRead.of(
        dispute,
        parties=[PartyRead.of(party, reveal) for party in parties],
        personal_data="masked" if reveal is None else "full",
        mediators=[MediatorRead.of(mediator) for mediator in mediators],
        allowed_actions=[str(action) for action in LIFECYCLE.allowed(DisputeStatus(dispute.status))],
        next_followup_on=next_followup_on,
    )


async def detail(
    reader: Reader, dispute: Dispute | LeanRow, *, reveal: PersonalDataProtector | None = None
) -> DisputeRead:
    """One dispute's read model, with its parties, mediators and the visit still to make (read lean)."""
    ids = [dispute.id]
    parties = await repository.parties_of(reader, ids, sealed=reveal is not None)
    mediators = await repository.mediators_of(reader, ids)
    due = await repository.pending_due_on(reader, ids)
    return read(
        dispute,
        parties.get(dispute.id, []),
        mediators.get(dispute.id, []),
        due.get(dispute.id),
        reveal=reveal,
    )


async def dispute_reach(reader: Reader, actor: Actor) -> ColumnElement[bool]:
    """The SQL condition for the disputes the caller may see."""
    clause = actor.scope.clause(Dispute.station_id)
    if actor.role is not Role.VOLUNTEER:
        return clause
    mine: ColumnElement[bool] = col(Dispute.reporter_id) == actor.user_id
    # Only while active: a suspended or retired volunteer keeps their own reports, not their cases.
    volunteer = await volunteers_repository.active_volunteer_of(reader, actor.user_id)
    if volunteer is not None:
        mine = or_(
            mine, col(Dispute.site_id) == volunteer.site_id, repository.mediated_by(None, volunteer.id)
        )
    return and_(clause, mine)


def _not_found(dispute_id: uuid.UUID) -> DisputeNotFound:
    return DisputeNotFound(f"no dispute {dispute_id}", zh=f"未找到纠纷 {dispute_id}")


async def get_dispute(session: AsyncSession, actor: Actor, dispute_id: uuid.UUID) -> Dispute:
    dispute = await repository.get(session, dispute_id, await dispute_reach(session, actor))
    if dispute is None:
        raise _not_found(dispute_id)
    return dispute


async def read_dispute(
    session: AsyncSession,
    actor: Actor,
    dispute_id: uuid.UUID,
    *,
    reveal: bool,
    protector: PersonalDataProtector,
) -> DisputeRead:
    """A dispute within the caller's reach, read lean: masked, or in full for roles whose work needs the
    parties' numbers, with an audit event for the full read."""
    dispute = await repository.read(session, dispute_id, await dispute_reach(session, actor))
    if dispute is None:
        raise _not_found(dispute_id)
    if not reveal:
        return await detail(session, dispute)
    if actor.role not in REVEALING_ROLES:
        raise Forbidden("your role may not read personal data in full", zh="您的角色无权查看完整的个人信息")
    await audit.record(
        session, actor, "dispute.personal_data.read", target_type="dispute", target_id=dispute.id,
        station_id=dispute.station_id, changes={"fields": ["phone", "id_card_number"]},
    )  # fmt: skip
    return await detail(session, dispute, reveal=protector)


async def list_disputes(
    reader: Reader, actor: Actor, filters: DisputeFilters, page: PageParams
) -> Page[DisputeRead]:
    """Always masked: numbers are revealed one dispute at a time, each read audited. The page's parties,
    mediators and visits still to make are read in one query each."""
    disputes = await repository.list_disputes(reader, await dispute_reach(reader, actor), filters, page)
    ids = [dispute.id for dispute in disputes[: page.limit]]
    parties = await repository.parties_of(reader, ids)
    mediators = await repository.mediators_of(reader, ids)
    due = await repository.pending_due_on(reader, ids)
    return page_of(
        disputes,
        page.limit,
        lambda dispute: read(
            dispute, parties.get(dispute.id, []), mediators.get(dispute.id, []), due.get(dispute.id)
        ),
    )


async def _check_reach(reader: Reader, actor: Actor, dispute_id: uuid.UUID) -> None:
    if not await kit.reaches(reader, Dispute, dispute_id, await dispute_reach(reader, actor)):
        raise _not_found(dispute_id)


async def history(reader: Reader, actor: Actor, dispute_id: uuid.UUID) -> list[DisputeEventRead]:
    await _check_reach(reader, actor, dispute_id)
    return [DisputeEventRead.of(event) for event in await repository.events(reader, dispute_id)]


async def followups(reader: Reader, actor: Actor, dispute_id: uuid.UUID) -> list[FollowupRead]:
    await _check_reach(reader, actor, dispute_id)
    return [FollowupRead.of(followup) for followup in await repository.followups(reader, dispute_id)]


# Shared by reporting and the lifecycle


async def _timezone(session: AsyncSession, station_id: uuid.UUID) -> ZoneInfo:
    station = await org_repository.get_station(session, station_id, StationScope.everywhere())
    assert station is not None  # a station with sites (and so disputes) cannot be deleted
    return ZoneInfo(station.timezone)


def _local_day(moment: datetime, timezone: ZoneInfo) -> date:
    return moment.astimezone(timezone).date()


def _seconds(start: datetime, end: datetime) -> int:
    # A report captured offline a little ahead of the server's clock must not make a negative clock.
    return max(0, int((end - start).total_seconds()))


# A case's free text may name its parties: the audit log (read across the station) records that it was given
# or changed, not what it says; the dispute's own history, shown to those who see the dispute, keeps it.
_FREE_TEXT = frozenset({"account", "address", "agreement_text", "reason", "previous_failure_reason"})


def _audited(changes: dict[str, Any]) -> dict[str, Any]:
    return {key: "(text)" if key in _FREE_TEXT else value for key, value in changes.items()}


def _details(**values: Any) -> dict[str, Any]:
    """Event details as JSON, leaving out what was not given."""
    return {key: value for key, value in to_jsonable_python(values).items() if value is not None}


async def _record_event(
    session: AsyncSession,
    dispute: Dispute,
    action: str,
    actor_id: uuid.UUID | None,
    *,
    note: str | None = None,
    from_status: DisputeStatus | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    event = DisputeEvent(
        dispute_id=dispute.id, action=action, from_status=from_status,
        to_status=dispute.status if from_status is not None else None, note=note, actor_id=actor_id,
        details=details or {}, occurred_at=utcnow(),
    )  # fmt: skip
    await repository.save(session, event)


async def _tell(
    session: AsyncSession, dispute: Dispute, recipients: Sequence[uuid.UUID], kind: str, title: str, body: str
) -> None:
    """Notify the accounts (once each) of an event of the dispute: never with the parties' names or
    numbers, which only the dispute itself shows to those who may see them."""
    unique = list(dict.fromkeys(recipients))
    if unique:
        await notify(
            session,
            DeliverPayload(
                recipients=unique, kind=kind, title=title, body=body, link=f"/api/v1/disputes/{dispute.id}",
                dedupe_key=f"{kind}:{dispute.id}:{dispute.version}",
            ),
        )  # fmt: skip


async def _staff_posts(session: AsyncSession, site_id: uuid.UUID) -> dict[uuid.UUID, MediatorRole]:
    """The site's officer and assistants now, by account, with the role their post gives a mediator."""
    held = await teams_repository.held_at(session, site_id, utcnow())
    return {assignment.user_id: MediatorRole(assignment.post.value) for assignment, _ in held}


def _mediator(
    dispute_id: uuid.UUID,
    role: MediatorRole,
    *,
    volunteer_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id(), "dispute_id": dispute_id, "role": role, "volunteer_id": volunteer_id,
        "user_id": user_id, "added_at": utcnow(),
    }  # fmt: skip


async def _volunteer_mediators(
    session: AsyncSession, dispute_id: uuid.UUID, station_id: uuid.UUID, volunteer_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """Named volunteers as mediators (with their accounts): active volunteers of the dispute's station."""
    wanted = set(volunteer_ids)
    found = await repository.active_volunteers(session, station_id, list(wanted)) if wanted else []
    unknown = wanted - {volunteer.id for volunteer in found}
    if unknown:
        names = ", ".join(sorted(str(volunteer_id) for volunteer_id in unknown))
        raise InvalidInput.on(
            "body.mediator_volunteer_ids",
            f"not active volunteers of the station: {names}",
            "unknown_volunteer",
            zh=f"以下人员不是本派出所的在岗义警：{names}",
        )
    return [
        _mediator(dispute_id, MediatorRole.VOLUNTEER, volunteer_id=volunteer.id, user_id=volunteer.user_id)
        for volunteer in found
    ]


async def _staff_mediators(
    session: AsyncSession, dispute_id: uuid.UUID, site_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """Named accounts as mediators: the site's officer or assistants, holding the post now."""
    if not user_ids:
        return []
    posts = await _staff_posts(session, site_id)
    unknown = set(user_ids) - set(posts)
    if unknown:
        names = ", ".join(sorted(str(user_id) for user_id in unknown))
        raise InvalidInput.on(
            "body.mediator_user_ids",
            f"hold no officer or assistant post at the site now: {names}",
            "not_site_staff",
            zh=f"以下人员目前未在该站点担任社区民警或警务助理：{names}",
        )
    return [_mediator(dispute_id, posts[user_id], user_id=user_id) for user_id in dict.fromkeys(user_ids)]


# Reporting


# The report's fields stored as they are given.
_AS_GIVEN = {"site_id", "kind", "source", "patrol_id", "address", "account", "risk_of_violence", "client_id"}


def _reported_times(data: DisputeCreate, now: datetime) -> tuple[datetime, datetime]:
    """When it broke out and when it was reported."""
    if data.reported_at is not None and not now - OFFLINE_AT_MOST <= data.reported_at <= now + CLOCK_SKEW:
        message = f"is not within the last {OFFLINE_AT_MOST.days} days (check the device's clock)"
        zh = f"不在最近 {OFFLINE_AT_MOST.days} 天之内（请检查设备时间）"
        raise InvalidInput.on("body.reported_at", message, "implausible_time", zh=zh)
    reported_at = data.reported_at or now
    occurred_at = data.occurred_at or reported_at
    if occurred_at > reported_at + CLOCK_SKEW:
        raise InvalidInput.on(
            "body.occurred_at", "is after the dispute was reported", "after_report", zh="晚于纠纷的上报时间"
        )
    return occurred_at, reported_at


def _check_report(data: DisputeCreate) -> None:
    if data.party_count is not None and data.party_count < len(data.parties):
        message = f"is fewer than the {len(data.parties)} parties listed"
        zh = f"少于所列的 {len(data.parties)} 名当事人"
        raise InvalidInput.on("body.party_count", message, "fewer_than_listed", zh=zh)
    if data.source is DisputeSource.PATROL and data.patrol_id is None:
        raise InvalidInput.on(
            "body.patrol_id",
            "a dispute met on patrol names its patrol",
            "patrol_missing",
            zh="巡防中发现的纠纷须注明所属巡防",
        )
    if data.source is not DisputeSource.PATROL and data.patrol_id is not None:
        raise InvalidInput.on(
            "body.patrol_id",
            "is given only with source patrol",
            "patrol_not_allowed",
            zh="仅当来源为巡防（patrol）时填写",
        )


async def _check_reporter(session: AsyncSession, actor: Actor, station_id: uuid.UUID) -> None:
    """A volunteer reports for their own station, while active; staff for every station they reach."""
    if actor.role is not Role.VOLUNTEER:
        return
    volunteer = await volunteers_repository.get_by_user(session, actor.user_id) if actor.user_id else None
    if volunteer is None or volunteer.station_id != station_id:
        raise Forbidden(
            "your account is not linked to a volunteer of this station; ask your community officer",
            zh="您的账号未关联本派出所的义警，请联系社区民警",
        )
    if volunteer.status is not VolunteerStatus.ACTIVE:
        raise Forbidden(
            f"your volunteer record is {volunteer.status}: only active volunteers report disputes",
            zh=f"您的义警状态为“{VOLUNTEER_STATUS_LABELS_ZH[volunteer.status]}”：只有在岗义警才能上报纠纷",
        )


async def _check_patrol(session: AsyncSession, actor: Actor, patrol_id: uuid.UUID, site: Site) -> None:
    patrol = await patrols_service.get_patrol(session, actor, patrol_id)
    if patrol.site_id != site.id:
        raise InvalidInput.on(
            "body.patrol_id", "is a patrol of another site", "other_site", zh="是其他站点的巡防"
        )


def _party(
    dispute_id: uuid.UUID, position: int, party: PartyCreate, protector: PersonalDataProtector
) -> DisputeParty:
    """A party as stored: its phone and ID-card numbers, when given, sealed, fingerprinted and masked."""
    numbers = {
        "phone": protector.protect_mobile(party.phone) if party.phone else None,
        "id_card": protector.protect_id_card(party.id_card_number) if party.id_card_number else None,
    }
    columns: dict[str, Any] = {}
    for name, protected in numbers.items():
        if protected is not None:
            columns |= {
                f"{name}_sealed": protected.sealed,
                f"{name}_fingerprint": protected.fingerprint,
                f"{name}_masked": protected.masked,
            }
    return DisputeParty(dispute_id=dispute_id, position=position, name=party.name, role=party.role, **columns)


def _replay(dispute: Dispute, actor: Actor) -> Dispute:
    """The stored case for an offline report sent again; another reporter's id is a clash."""
    if dispute.reporter_id != actor.user_id:
        raise ClientIdTaken(
            "another dispute of this station carries this client_id; generate a new one for each case",
            zh="本派出所已有其他纠纷使用了该 client_id，请为每起纠纷生成新的 client_id",
        )
    return dispute


async def report_dispute(
    session: AsyncSession, actor: Actor, data: DisputeCreate, protector: PersonalDataProtector
) -> tuple[Dispute, bool]:
    """The stored dispute, and whether it is new (False: an offline report sent again)."""
    if actor.user_id is None:
        raise Forbidden(
            "disputes are reported by people, not API keys", zh="纠纷须由人员上报，不能使用 API 密钥上报"
        )
    site = await org_repository.get_site(session, data.site_id, actor.scope)
    if site is None:
        raise SiteNotFound(f"no site {data.site_id}", zh=f"未找到站点 {data.site_id}")
    if data.client_id is not None:
        replayed = await repository.get_by_client_id(session, site.station_id, data.client_id)
        if replayed is not None:
            return _replay(replayed, actor), False
    now = utcnow()
    occurred_at, reported_at = _reported_times(data, now)
    _check_report(data)
    await _check_reporter(session, actor, site.station_id)
    if data.patrol_id is not None:
        await _check_patrol(session, actor, data.patrol_id, site)
    dispute = Dispute(
        **data.model_dump(include=_AS_GIVEN),
        latitude=data.location.latitude if data.location else None,
        longitude=data.location.longitude if data.location else None,
        station_id=site.station_id,
        occurred_at=occurred_at,
        reported_at=reported_at,
        party_count=len(data.parties) if data.party_count is None else data.party_count,
        reporter_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    mediators = [
        *await _volunteer_mediators(session, dispute.id, site.station_id, data.mediator_volunteer_ids),
        *await _staff_mediators(session, dispute.id, site.id, data.mediator_user_ids),
    ]
    try:
        async with session.begin_nested():
            await repository.save(session, dispute)
    except IntegrityError as exc:
        # The same offline report sent twice at once: the other request stored it first.
        if violated_constraint(exc) == "uq_disputes_station_id_client_id" and data.client_id is not None:
            stored = await repository.get_by_client_id(session, site.station_id, data.client_id)
            assert stored is not None
            return _replay(stored, actor), False
        raise
    parties = [
        _party(dispute.id, position, party, protector) for position, party in enumerate(data.parties, 1)
    ]
    await repository.save_all(session, parties)
    await repository.add_mediators(session, mediators)
    details = _details(
        kind=dispute.kind, source=dispute.source, patrol_id=dispute.patrol_id, client_id=dispute.client_id,
        risk_of_violence=dispute.risk_of_violence,
    )  # fmt: skip
    await _record_event(session, dispute, "report", actor.user_id, details=details)
    await audit.record(
        session, actor, "dispute.report", target_type="dispute", target_id=dispute.id,
        station_id=dispute.station_id, changes=details | {"site_id": str(site.id)},
    )  # fmt: skip
    timezone = await _timezone(session, site.station_id)
    await queue_recompute(session, "disputes", site.station_id, [_local_day(reported_at, timezone)])
    staff = [user_id for user_id in await site_staff(session, site.id) if user_id != actor.user_id]
    risk = "有激化风险" if dispute.risk_of_violence else "无激化风险"
    await _tell(
        session,
        dispute,
        staff,
        "dispute.reported",
        f"新纠纷：{site.name}",
        f"{KIND_LABELS_ZH[dispute.kind]}，{risk}",
    )
    return dispute, True


# Changing


async def _dispute_to_change(
    session: AsyncSession, actor: Actor, dispute_id: uuid.UUID, expected_version: int | None
) -> Dispute:
    """The dispute, locked for this transaction, after the caller's If-Match is checked."""
    dispute = await repository.get(session, dispute_id, await dispute_reach(session, actor), for_update=True)
    if dispute is None:
        raise _not_found(dispute_id)
    check_version(dispute.version, expected_version)
    return dispute


def _touch(dispute: Dispute) -> None:
    dispute.version += 1
    dispute.updated_at = utcnow()


def _figure_days(dispute: Dispute, timezone: ZoneInfo) -> set[date]:
    """The days whose figures count the dispute: its report's, and its closing's."""
    days = {_local_day(dispute.reported_at, timezone)}
    if dispute.closed_at is not None:
        days.add(_local_day(dispute.closed_at, timezone))
    return days


# Fields where null means "clear it"; for the others null means "leave it".
_CLEARABLE = frozenset({"address", "location"})
# The fields the figures are counted by.
_COUNTED_BY = frozenset({"kind", "site_id"})


async def update_dispute(
    session: AsyncSession,
    actor: Actor,
    dispute_id: uuid.UUID,
    data: DisputeUpdate,
    expected_version: int | None,
) -> Dispute:
    dispute = await _dispute_to_change(session, actor, dispute_id, expected_version)
    given = {
        key: value
        for key, value in data.model_dump(exclude_unset=True).items()
        if value is not None or key in _CLEARABLE
    }
    if "site_id" in given:
        site = await org_repository.get_site(session, given["site_id"], actor.scope)
        if site is None or site.station_id != dispute.station_id:
            raise SiteNotFound(
                f"no site {given['site_id']} in the dispute's station",
                zh=f"该纠纷所属派出所没有站点 {given['site_id']}",
            )
    if "occurred_at" in given and given["occurred_at"] > dispute.reported_at + CLOCK_SKEW:
        raise InvalidInput.on(
            "body.occurred_at", "is after the dispute was reported", "after_report", zh="晚于纠纷的上报时间"
        )
    if "location" in given:
        location = given.pop("location")
        given["latitude"] = location["latitude"] if location else None
        given["longitude"] = location["longitude"] if location else None
    changed = {key: value for key, value in given.items() if getattr(dispute, key) != value}
    if not changed:
        return dispute
    report = {
        key: {"from": to_jsonable_python(getattr(dispute, key)), "to": to_jsonable_python(value)}
        for key, value in changed.items()
    }
    apply_changes(dispute, changed)
    await _record_event(session, dispute, "update", actor.user_id, details=report)
    await audit.record(
        session, actor, "dispute.update", target_type="dispute", target_id=dispute.id,
        station_id=dispute.station_id, changes=_audited(report),
    )  # fmt: skip
    if changed.keys() & _COUNTED_BY:
        timezone = await _timezone(session, dispute.station_id)
        await queue_recompute(session, "disputes", dispute.station_id, _figure_days(dispute, timezone))
    return dispute


async def _may_step_in(
    session: AsyncSession, actor: Actor, dispute: Dispute
) -> volunteers_repository.ActiveVolunteer | None:
    """Staff step into any dispute they reach; a volunteer into one at their own site or one they already
    mediate. Returns the volunteer's record."""
    if actor.role in STAFF:
        return None
    volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
    if volunteer is None or (
        volunteer.site_id != dispute.site_id
        and not await repository.is_mediator(session, dispute.id, volunteer.id)
    ):
        raise Forbidden(
            "only active volunteers of the dispute's site, its mediators and station staff step in",
            zh="只有纠纷所在站点的在岗义警、该纠纷的调解员和派出所工作人员可以介入",
        )
    return volunteer


async def _check_mediator(session: AsyncSession, actor: Actor, dispute: Dispute) -> None:
    """Staff carry on every dispute they reach; anyone else only one they mediate."""
    if actor.role in STAFF:
        return
    # A volunteer mediates by their record, and only while active.
    volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
    if volunteer is None or not await repository.is_mediator(session, dispute.id, volunteer.id):
        raise NotAMediator(
            "only the dispute's mediators and station staff carry its mediation on",
            zh="只有该纠纷的调解员和派出所工作人员可以继续调解",
        )


async def _mediate(
    session: AsyncSession,
    actor: Actor,
    dispute: Dispute,
    body: MediateAction,
    volunteer: volunteers_repository.ActiveVolunteer | None,
    now: datetime,
) -> dict[str, Any]:
    """The first intervention: the clock from the report stops. The caller becomes a mediator (a volunteer
    by their record, the site's officer or assistant by their post; leaders, county admins and staff of
    another site act without becoming one), with the volunteers named."""
    mediators = await _volunteer_mediators(
        session, dispute.id, dispute.station_id, body.mediator_volunteer_ids
    )
    if volunteer is not None:
        mediators.append(
            _mediator(dispute.id, MediatorRole.VOLUNTEER, volunteer_id=volunteer.id, user_id=actor.user_id)
        )
    elif actor.user_id is not None:
        post = (await _staff_posts(session, dispute.site_id)).get(actor.user_id)
        if post is not None:
            mediators.append(_mediator(dispute.id, post, user_id=actor.user_id))
    await repository.add_mediators(session, mediators)
    dispute.mediating_at = now
    dispute.intervention_seconds = _seconds(dispute.reported_at, now)
    return _details(mediator_volunteer_ids=body.mediator_volunteer_ids or None)


def _resolve(dispute: Dispute, body: ResolveAction, now: datetime) -> dict[str, Any]:
    """A written agreement keeps its text and a compensation its amount; no other outcome has either."""
    written = body.outcome is DisputeOutcome.WRITTEN_AGREEMENT
    compensated = body.outcome is DisputeOutcome.COMPENSATION
    if written and body.agreement_text is None:
        raise InvalidInput.on(
            "body.agreement_text",
            "a written agreement needs its text",
            "agreement_missing",
            zh="书面调解协议须填写协议内容",
        )
    if not written and body.agreement_text is not None:
        message = "only a written agreement has a text"
        raise InvalidInput.on(
            "body.agreement_text", message, "agreement_not_allowed", zh="只有书面调解协议才填写协议内容"
        )
    if compensated and body.compensation_amount is None:
        raise InvalidInput.on(
            "body.compensation_amount",
            "a compensation needs its amount",
            "amount_missing",
            zh="赔偿须填写赔偿金额",
        )
    if not compensated and body.compensation_amount is not None:
        message = "only a compensation has an amount"
        raise InvalidInput.on(
            "body.compensation_amount", message, "amount_not_allowed", zh="只有赔偿才填写金额"
        )
    dispute.outcome = body.outcome
    dispute.agreement_text = body.agreement_text
    dispute.compensation_amount = body.compensation_amount
    dispute.resolved_at = now
    dispute.resolution_seconds = _seconds(dispute.reported_at, now)
    return _details(
        outcome=body.outcome, agreement_text=body.agreement_text, compensation_amount=body.compensation_amount
    )


async def followup_days(session: AsyncSession, station_id: uuid.UUID) -> int:
    days = await repository.followup_days(session, station_id)
    return DEFAULT_FOLLOWUP_DAYS if days is None else days


async def _schedule_followup(session: AsyncSession, dispute: Dispute, timezone: ZoneInfo) -> date:
    """The visit after a resolution, due the station's period after the day it was resolved."""
    assert dispute.resolved_at is not None
    days = await followup_days(session, dispute.station_id)
    due_on = _local_day(dispute.resolved_at, timezone) + timedelta(days=days)
    followup = DisputeFollowup(dispute_id=dispute.id, station_id=dispute.station_id, due_on=due_on)
    await repository.save(session, followup)
    return due_on


async def _reopen(session: AsyncSession, dispute: Dispute) -> dict[str, Any]:
    """Mediated again: what closed it is cleared (kept in its history), a visit still to make is cancelled;
    the first intervention stays the first."""
    details = _details(
        previous_outcome=dispute.outcome, previous_failure_reason=dispute.failure_reason,
        previous_closed_at=dispute.closed_at,
    )  # fmt: skip
    dispute.outcome = dispute.agreement_text = dispute.escalated_to = dispute.escalation_reference = None
    dispute.failure_reason = None
    dispute.compensation_amount = None
    dispute.resolved_at = dispute.resolution_seconds = dispute.closed_at = None
    await repository.cancel_pending_followup(session, dispute.id)
    return details


async def _transition(
    session: AsyncSession,
    actor: Actor,
    dispute: Dispute,
    action: DisputeAction,
    body: BaseModel | None,
    *,
    note: str | None,
    volunteer: volunteers_repository.ActiveVolunteer | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Move the locked dispute on by ``action``: its fields and clocks, its history, the audit log, the
    figures of the days it changes and its reporter."""
    target = LIFECYCLE.require(dispute.status, action)
    previous_status = dispute.status
    timezone = await _timezone(session, dispute.station_id)
    now = utcnow()
    # The days whose figures this changes: today (a closing), and the closing a reopen undoes.
    recount = {_local_day(now, timezone)}
    if dispute.closed_at is not None:
        recount.add(_local_day(dispute.closed_at, timezone))
    done: dict[str, Any] = {}
    match action:
        case DisputeAction.MEDIATE:
            assert isinstance(body, MediateAction)
            done = await _mediate(session, actor, dispute, body, volunteer, now)
        case DisputeAction.RESOLVE:
            assert isinstance(body, ResolveAction)
            done = _resolve(dispute, body, now)
            done["followup_due_on"] = str(await _schedule_followup(session, dispute, timezone))
        case DisputeAction.ESCALATE:
            assert isinstance(body, EscalateAction)
            dispute.escalated_to, dispute.escalation_reference = body.escalated_to, body.reference
            done = _details(escalated_to=body.escalated_to, reference=body.reference)
        case DisputeAction.FAIL:
            assert isinstance(body, FailAction)
            dispute.failure_reason = body.reason
            done = _details(reason=body.reason)
        case DisputeAction.REOPEN:
            done = await _reopen(session, dispute)
    done |= details or {}
    dispute.status = target
    if target not in OPEN_STATUSES:
        dispute.closed_at = now
    _touch(dispute)
    await _record_event(
        session, dispute, action, actor.user_id, note=note, from_status=previous_status, details=done
    )
    await queue_recompute(session, "disputes", dispute.station_id, recount)
    changes = _audited({"from": previous_status.value, "to": target.value, **done})
    await audit.record(
        session, actor, f"dispute.{action}", target_type="dispute", target_id=dispute.id,
        station_id=dispute.station_id, changes=changes,
    )  # fmt: skip
    if dispute.reporter_id != actor.user_id:
        await _tell(
            session, dispute, [dispute.reporter_id], "dispute.status_changed", "您报告的纠纷有新进展",
            f"{KIND_LABELS_ZH[dispute.kind]}：{STATUS_LABELS_ZH[target]}",
        )  # fmt: skip


async def take_action(
    session: AsyncSession,
    actor: Actor,
    dispute_id: uuid.UUID,
    action: DisputeAction,
    body: BaseModel,
    expected_version: int | None,
) -> Dispute:
    """Reopening is for staff alone: the route admits no one else."""
    dispute = await _dispute_to_change(session, actor, dispute_id, expected_version)
    volunteer = None
    if action is DisputeAction.MEDIATE:
        volunteer = await _may_step_in(session, actor, dispute)
    else:
        await _check_mediator(session, actor, dispute)
    note = getattr(body, "note", None)
    await _transition(session, actor, dispute, action, body, note=note, volunteer=volunteer)
    return dispute


# Follow-up visits


async def record_followup(
    session: AsyncSession,
    actor: Actor,
    dispute_id: uuid.UUID,
    data: FollowupRecord,
    expected_version: int | None,
) -> tuple[DisputeFollowup, Dispute]:
    """The visit still to make, made; a relapse reopens the dispute as the reopen action does (recorded as
    one, naming the visit)."""
    dispute = await _dispute_to_change(session, actor, dispute_id, expected_version)
    await _check_mediator(session, actor, dispute)
    followup = await repository.pending_followup(session, dispute.id)
    if followup is None:
        raise NoFollowupDue(
            f"dispute {dispute.id} has no follow-up visit to make", zh=f"纠纷 {dispute.id} 没有待进行的回访"
        )
    now = utcnow()
    visited_at = data.visited_at or now
    if visited_at > now + CLOCK_SKEW:
        raise InvalidInput.on(
            "body.visited_at",
            "is in the future (check the device's clock)",
            "future_time",
            zh="晚于当前时间（请检查设备时间）",
        )
    assert dispute.resolved_at is not None  # a visit is pending only while its dispute stays resolved
    if visited_at < dispute.resolved_at:
        raise InvalidInput.on(
            "body.visited_at",
            "is before the dispute was resolved",
            "before_resolution",
            zh="早于纠纷化解时间",
        )
    followup.outcome = data.outcome
    followup.note = data.note
    followup.visited_at = visited_at
    followup.visited_by = actor.user_id
    await repository.save(session, followup)
    details = _details(followup=followup.id, outcome=data.outcome, visited_at=visited_at)
    await _record_event(session, dispute, "followup", actor.user_id, note=data.note, details=details)
    await audit.record(
        session, actor, "dispute.followup", target_type="dispute", target_id=dispute.id,
        station_id=dispute.station_id, changes=details,
    )  # fmt: skip
    if data.outcome is FollowupOutcome.RELAPSED:
        await _transition(
            session, actor, dispute, DisputeAction.REOPEN, None, note=data.note,
            details={"followup": str(followup.id)},
        )  # fmt: skip
    else:
        _touch(dispute)
    return followup, dispute


# Settings


async def dispute_settings(session: AsyncSession, actor: Actor, station_id: uuid.UUID) -> DisputeSettingsRead:
    station = await org_service.get_station(session, actor, station_id)
    return DisputeSettingsRead(
        station_id=station.id,
        followup_days=await followup_days(session, station.id),
        default_followup_days=DEFAULT_FOLLOWUP_DAYS,
    )


async def set_dispute_settings(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID, data: DisputeSettingsUpdate
) -> DisputeSettingsRead:
    """The new period applies to visits scheduled from now on; those already scheduled keep their day."""
    station = await org_service.get_station(session, actor, station_id)
    await repository.save_settings(session, station.id, data.followup_days, utcnow())
    await audit.record(
        session, actor, "dispute.settings.update", target_type="station", target_id=station.id,
        station_id=station.id, changes={"followup_days": data.followup_days},
    )  # fmt: skip
    return await dispute_settings(session, actor, station_id)
