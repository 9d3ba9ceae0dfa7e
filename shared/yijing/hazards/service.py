"""Hazards: reports (offline ones stored once), reading within reach, corrections, the lifecycle with its
history, per-site figures and each station's rectification periods.

Reach: staff see their stations' hazards; a volunteer sees those of their own site and those they reported."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import STAFF, Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.conflicts import violated_constraint
from yijing.errors import ClientIdTaken, Forbidden, InvalidInput, check_version
from yijing.hazards import repository
from yijing.hazards.errors import EvidenceRequired, HazardNotFound
from yijing.hazards.models import (
    CLOSED_NOT_FIXED,
    OPEN_STATUSES,
    Hazard,
    HazardEvent,
    HazardSeverity,
    HazardStatus,
    ReporterRole,
)
from yijing.hazards.schemas import (
    STATUS_LABELS_ZH,
    ClosedNotFixed,
    DeadlineRules,
    DeadlineRulesUpdate,
    DuplicateAction,
    EliminateAction,
    HazardCreate,
    HazardFilters,
    HazardRead,
    HazardSummary,
    HazardUpdate,
    RectifyAction,
    ReferAction,
    SiteHazardSummary,
)
from yijing.ids import CLOCK_SKEW, OFFLINE_AT_MOST, new_id, station_today, utcnow
from yijing.kit.lifecycle import Lifecycle
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.notifications.jobs import notify
from yijing.notifications.service import DeliverPayload
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound, StationNotFound
from yijing.org.models import Station
from yijing.rota import repository as rota_repository
from yijing.stats.jobs import queue_recompute
from yijing.teams.service import site_staff
from yijing.volunteers import repository as volunteers_repository
from yijing.volunteers.models import VolunteerStatus
from yijing.volunteers.schemas import STATUS_LABELS_ZH as VOLUNTEER_STATUS_LABELS_ZH

# Days to fix, by severity, for a station that has not set its own.
DEFAULT_DEADLINE_DAYS = {
    HazardSeverity.LOW: 30,
    HazardSeverity.MEDIUM: 7,
    HazardSeverity.HIGH: 3,
    HazardSeverity.CRITICAL: 1,
}


class HazardAction(StrEnum):
    VERIFY = "verify"  # reported → verified: an officer or assistant confirmed it on site
    RECTIFY = "rectify"  # verified → rectifying: the responsible party was told to fix it
    ELIMINATE = "eliminate"  # verified or rectifying → eliminated: fixed, and the fix checked
    DUPLICATE = "duplicate"  # open → duplicate of another report
    DISMISS = "dismiss"  # open → not_hazard
    REFER = "refer"  # open → referred to another agency
    REOPEN = "reopen"  # eliminated or closed → reported again


# Elimination straight from verified is a fix made on the spot (当场整改), still with evidence.
LIFECYCLE = Lifecycle(
    "hazard",
    {
        HazardAction.VERIFY: ({HazardStatus.REPORTED}, HazardStatus.VERIFIED),
        HazardAction.RECTIFY: ({HazardStatus.VERIFIED}, HazardStatus.RECTIFYING),
        HazardAction.ELIMINATE: ({HazardStatus.VERIFIED, HazardStatus.RECTIFYING}, HazardStatus.ELIMINATED),
        HazardAction.DUPLICATE: (OPEN_STATUSES, HazardStatus.DUPLICATE),
        HazardAction.DISMISS: (OPEN_STATUSES, HazardStatus.NOT_HAZARD),
        HazardAction.REFER: (OPEN_STATUSES, HazardStatus.REFERRED),
        HazardAction.REOPEN: (CLOSED_NOT_FIXED | {HazardStatus.ELIMINATED}, HazardStatus.REPORTED),
    },
    subject_zh="隐患",
)


def read(hazard: Hazard | LeanRow) -> HazardRead:
    return HazardRead.of(hazard, [str(action) for action in LIFECYCLE.allowed(HazardStatus(hazard.status))])


async def _station(session: AsyncSession, station_id: uuid.UUID) -> Station:
    station = await org_repository.get_station(session, station_id, StationScope.everywhere())
    assert station is not None  # a station with sites (and so hazards) cannot be deleted
    return station


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID | date) else value


def _details(**values: Any) -> dict[str, Any]:
    """Event details as JSON, leaving out what was not given."""
    return {key: _json(value) for key, value in values.items() if value is not None}


def event_row(
    hazard: Hazard,
    action: str,
    actor_id: uuid.UUID | None,
    *,
    note: str | None = None,
    from_status: HazardStatus | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "hazard_id": hazard.id,
        "action": action,
        "from_status": from_status,
        "to_status": hazard.status if from_status is not None else None,
        "note": note,
        "actor_id": actor_id,
        "details": details or {},
        "occurred_at": utcnow(),
    }


async def record_event(
    session: AsyncSession,
    hazard: Hazard,
    action: str,
    actor_id: uuid.UUID | None,
    *,
    note: str | None = None,
    from_status: HazardStatus | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    row = event_row(hazard, action, actor_id, note=note, from_status=from_status, details=details)
    await repository.insert_events(session, [row])


async def tell(
    session: AsyncSession,
    hazard: Hazard,
    recipients: Sequence[uuid.UUID],
    kind: str,
    title: str,
    body: str,
    *,
    key: str | None = None,
) -> None:
    """Notify the accounts (once each) of an event of the hazard; ``key`` tells apart the events of one
    kind (by default the hazard's version)."""
    unique = list(dict.fromkeys(recipients))
    if unique:
        await notify(
            session,
            DeliverPayload(
                recipients=unique,
                kind=kind,
                title=title,
                body=body,
                link=f"/api/v1/hazards/{hazard.id}",
                dedupe_key=f"{kind}:{hazard.id}:{key or hazard.version}",
            ),
        )


# Reach


async def hazard_reach(reader: Reader, actor: Actor) -> ColumnElement[bool]:
    """The SQL condition for the hazards the caller may see."""
    clause = actor.scope.clause(Hazard.station_id)
    if actor.role is not Role.VOLUNTEER:
        return clause
    mine: ColumnElement[bool] = col(Hazard.reporter_id) == actor.user_id
    volunteer = await volunteers_repository.active_volunteer_of(reader, actor.user_id)
    if volunteer is not None:
        mine = or_(mine, col(Hazard.site_id) == volunteer.site_id)
    return and_(clause, mine)


async def get_hazard(session: AsyncSession, actor: Actor, hazard_id: uuid.UUID) -> Hazard:
    hazard = await repository.get(session, hazard_id, await hazard_reach(session, actor))
    if hazard is None:
        raise HazardNotFound(f"no hazard {hazard_id}", zh=f"未找到隐患 {hazard_id}")
    return hazard


async def read_hazard(reader: Reader, actor: Actor, hazard_id: uuid.UUID) -> HazardRead:
    """A hazard within the caller's reach, as its read model (read lean)."""
    if actor.role is Role.VOLUNTEER:  # their own reports and their site's: see hazard_reach
        row = await repository.read(reader, hazard_id, await hazard_reach(reader, actor))
    else:
        row = await repository.read_within(reader, hazard_id, actor.scope)
    if row is None:
        raise HazardNotFound(f"no hazard {hazard_id}", zh=f"未找到隐患 {hazard_id}")
    return read(row)


async def list_hazards(
    session: AsyncSession, actor: Actor, filters: HazardFilters, page: PageParams
) -> Page[HazardRead]:
    hazards = await repository.list_hazards(session, await hazard_reach(session, actor), filters, page)
    return page_of(hazards, page.limit, read)


async def history(session: AsyncSession, actor: Actor, hazard_id: uuid.UUID) -> Sequence[HazardEvent]:
    hazard = await get_hazard(session, actor, hazard_id)
    return await repository.events(session, hazard.id)


# Reporting


async def _reporter(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID, found_at: datetime
) -> tuple[ReporterRole, uuid.UUID | None]:
    """What the reporter was when they found it (a captain during their captain week) and their volunteer
    record, if any."""
    if actor.role is not Role.VOLUNTEER:
        return ReporterRole(str(actor.role)), None
    volunteer = await volunteers_repository.get_by_user(session, actor.user_id) if actor.user_id else None
    if volunteer is None or volunteer.station_id != station_id:
        raise Forbidden(
            "your account is not linked to a volunteer of this station; ask your community officer",
            zh="您的账号未关联本派出所的义警，请联系社区民警",
        )
    if volunteer.status is not VolunteerStatus.ACTIVE:
        raise Forbidden(
            f"your volunteer record is {volunteer.status}: only active volunteers report hazards",
            zh=f"您的义警状态为“{VOLUNTEER_STATUS_LABELS_ZH[volunteer.status]}”：只有在岗义警才能上报隐患",
        )
    weeks = await rota_repository.weeks_of_captain(session, volunteer.id, found_at, limit=1)
    serving = any(week.starts_at <= found_at for week, _, _ in weeks)
    return (ReporterRole.CAPTAIN if serving else ReporterRole.VOLUNTEER), volunteer.id


async def deadline_days(session: AsyncSession, station_id: uuid.UUID) -> dict[HazardSeverity, int]:
    return DEFAULT_DEADLINE_DAYS | await repository.deadline_rules(session, station_id)


def _check_deadline(deadline: date | None, today: date, field: str) -> None:
    if deadline is not None and deadline < today:
        message = f"is before today ({today}) in the station's time zone"
        raise InvalidInput.on(field, message, "past_date", zh=f"早于今天（{today}，按派出所所在时区）")


def _replay(hazard: Hazard, actor: Actor) -> Hazard:
    """The stored report for an offline report sent again; another reporter's id is a clash."""
    if hazard.reporter_id != actor.user_id:
        raise ClientIdTaken(
            "another report of this station carries this client_id; generate a new one for each report",
            zh="本派出所已有其他上报使用了该 client_id，请为每条上报生成新的 client_id",
        )
    return hazard


async def report_hazard(session: AsyncSession, actor: Actor, data: HazardCreate) -> tuple[Hazard, bool]:
    """The stored hazard, and whether it is new (False: an offline report sent again)."""
    if actor.user_id is None:
        raise Forbidden(
            "hazards are reported by people, not API keys", zh="隐患须由人员上报，不能使用 API 密钥上报"
        )
    site = await org_repository.get_site(session, data.site_id, actor.scope)
    if site is None:
        raise SiteNotFound(f"no site {data.site_id}", zh=f"未找到站点 {data.site_id}")
    if data.client_id is not None:
        replayed = await repository.get_by_client_id(session, site.station_id, data.client_id)
        if replayed is not None:
            return _replay(replayed, actor), False
    if data.deadline is not None and actor.role not in STAFF:
        raise Forbidden(
            "only station staff set a deadline; the station's period for the severity applies",
            zh="只有派出所工作人员可以设定整改期限；其他情况按本所对该隐患等级规定的期限执行",
        )
    now = utcnow()
    if data.captured_at is not None and not now - OFFLINE_AT_MOST <= data.captured_at <= now + CLOCK_SKEW:
        message = f"is not within the last {OFFLINE_AT_MOST.days} days (check the device's clock)"
        zh = f"不在最近 {OFFLINE_AT_MOST.days} 天之内（请检查设备时间）"
        raise InvalidInput.on("body.captured_at", message, "implausible_time", zh=zh)
    station = await _station(session, site.station_id)
    today = station_today(station.timezone)
    _check_deadline(data.deadline, today, "body.deadline")
    reporter_role, volunteer_id = await _reporter(session, actor, station.id, data.captured_at or now)
    days = (await deadline_days(session, station.id))[data.severity]
    hazard = Hazard(
        **data.model_dump(exclude={"location", "deadline"}),
        latitude=data.location.latitude if data.location else None,
        longitude=data.location.longitude if data.location else None,
        station_id=station.id,
        reporter_id=actor.user_id,
        reporter_role=reporter_role,
        reporter_volunteer_id=volunteer_id,
        deadline=data.deadline or today + timedelta(days=days),
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            await repository.save(session, hazard)
    except IntegrityError as exc:
        # The same offline report sent twice at once: the other request stored it first.
        if violated_constraint(exc) == "uq_hazards_station_id_client_id" and data.client_id is not None:
            stored = await repository.get_by_client_id(session, station.id, data.client_id)
            assert stored is not None
            return _replay(stored, actor), False
        raise
    details = _details(
        category=hazard.category.value, severity=hazard.severity.value, deadline=hazard.deadline,
        client_id=hazard.client_id,
    )  # fmt: skip
    await record_event(session, hazard, "report", actor.user_id, details=details)
    await queue_recompute(session, "hazards", station.id, [today])
    staff = [user_id for user_id in await site_staff(session, site.id) if user_id != actor.user_id]
    await tell(
        session, hazard, staff, "hazard.reported", f"新隐患：{site.name}",
        f"{hazard.description[:200]}（整改期限 {hazard.deadline}）",
    )  # fmt: skip
    return hazard, True


# Changing


async def _hazard_to_change(
    session: AsyncSession,
    actor: Actor,
    hazard_id: uuid.UUID,
    expected_version: int | None,
    *,
    also_lock: Sequence[uuid.UUID] = (),
) -> Hazard:
    """The hazard, locked for this transaction (with ``also_lock``, in id order), after the caller's
    If-Match is checked."""
    reach = await hazard_reach(session, actor)
    locked = await repository.lock(session, [hazard_id, *also_lock], reach)
    hazard = locked.get(hazard_id)
    if hazard is None:
        raise HazardNotFound(f"no hazard {hazard_id}", zh=f"未找到隐患 {hazard_id}")
    check_version(hazard.version, expected_version)
    return hazard


def _touch(hazard: Hazard) -> None:
    hazard.version += 1
    hazard.updated_at = utcnow()


def _set_deadline(hazard: Hazard, deadline: date, today: date) -> None:
    """A new deadline; the overdue flag follows it (a later reminder goes out for it, too)."""
    hazard.deadline = deadline
    hazard.overdue = hazard.status in OPEN_STATUSES and deadline < today


# Fields where null means "clear it"; for the others null means "leave it".
_CLEARABLE = frozenset({"location", "address", "responsible_party"})


async def update_hazard(
    session: AsyncSession,
    actor: Actor,
    hazard_id: uuid.UUID,
    data: HazardUpdate,
    expected_version: int | None,
) -> Hazard:
    hazard = await _hazard_to_change(session, actor, hazard_id, expected_version)
    given = {
        key: value
        for key, value in data.model_dump(exclude_unset=True).items()
        if value is not None or key in _CLEARABLE
    }
    if "site_id" in given:
        site = await org_repository.get_site(session, given["site_id"], actor.scope)
        if site is None or site.station_id != hazard.station_id:
            raise SiteNotFound(
                f"no site {given['site_id']} in the hazard's station",
                zh=f"该隐患所属派出所没有站点 {given['site_id']}",
            )
    today = station_today((await _station(session, hazard.station_id)).timezone)
    if "deadline" in given and given["deadline"] != hazard.deadline:
        _check_deadline(given["deadline"], today, "body.deadline")
    if "location" in given:
        location = given.pop("location")
        given["latitude"] = location["latitude"] if location else None
        given["longitude"] = location["longitude"] if location else None
    changed = {key: value for key, value in given.items() if getattr(hazard, key) != value}
    if not changed:
        return hazard
    report = {
        key: {"from": _json(getattr(hazard, key)), "to": _json(value)} for key, value in changed.items()
    }
    for key, value in changed.items():
        if key == "deadline":
            _set_deadline(hazard, value, today)
        else:
            setattr(hazard, key, value)
    _touch(hazard)
    await record_event(session, hazard, "update", actor.user_id, details=report)
    await audit.record(
        session, actor, "hazard.update", target_type="hazard", target_id=hazard.id,
        station_id=hazard.station_id, changes=report,
    )  # fmt: skip
    return hazard


async def _original(session: AsyncSession, actor: Actor, hazard: Hazard, original_id: uuid.UUID) -> Hazard:
    """The report a duplicate points to: of the same station, not itself, and an original (a duplicate's
    own original is taken instead, so chains never form)."""
    original = await repository.get(session, original_id, await hazard_reach(session, actor))
    if original is None or original.station_id != hazard.station_id:
        raise HazardNotFound(
            f"no hazard {original_id} in this hazard's station", zh=f"该隐患所属派出所没有隐患 {original_id}"
        )
    if original.status is HazardStatus.DUPLICATE and original.duplicate_of_id is not None:
        original = await get_hazard(session, actor, original.duplicate_of_id)
    if original.id == hazard.id:
        message, zh = "a hazard cannot duplicate itself", "隐患不能标记为与自身重复"
        raise InvalidInput(
            message,
            zh=zh,
            errors=[
                {"field": "body.duplicate_of", "message": message, "message_zh": zh, "code": "self_reference"}
            ],
        )
    return original


async def _eliminate(
    session: AsyncSession, actor: Actor, hazard: Hazard, body: EliminateAction
) -> dict[str, Any]:
    """Fixed and checked: an `after` photo taken since the hazard was last (re)opened, or an inspection note
    by someone other than the reporter. Nobody certifies their own report on their word alone."""
    reopened = await repository.last_reopened_at(session, hazard.id)
    has_photo = await repository.has_after_photo(session, hazard.id, since=reopened)
    checked_by_another = body.inspection_note is not None and actor.user_id != hazard.reporter_id
    if not (has_photo or checked_by_another):
        message = (
            "elimination needs evidence: attach an `after` photo of the fix, or have someone other than the "
            "reporter inspect it and give an inspection_note"
        )
        zh = "确认消除须有依据：请上传整改后（after）照片，或由上报人以外的人员复查并填写 inspection_note"
        raise EvidenceRequired(
            message,
            zh=zh,
            errors=[
                {"field": "body.inspection_note", "message": message, "message_zh": zh, "code": "evidence"}
            ],
        )
    hazard.eliminated_at = utcnow()
    return _details(inspection_note=body.inspection_note, after_photo=has_photo)


async def _mark_duplicate(
    session: AsyncSession, actor: Actor, hazard: Hazard, original_id: uuid.UUID
) -> dict[str, Any]:
    original = await _original(session, actor, hazard, original_id)
    hazard.duplicate_of_id = original.id
    # Reports that pointed to this one now point to its original: no chains.
    repointed = await repository.repoint_duplicates(session, hazard.id, original.id)
    return _details(duplicate_of=original.id, repointed=[str(other) for other in repointed] or None)


async def take_action(
    session: AsyncSession,
    actor: Actor,
    hazard_id: uuid.UUID,
    action: HazardAction,
    body: BaseModel,
    expected_version: int | None,
) -> Hazard:
    # A duplicate's original is locked with it (both in id order), so two reports cannot become each
    # other's duplicate at once.
    also_lock = [body.duplicate_of] if isinstance(body, DuplicateAction) else []
    hazard = await _hazard_to_change(session, actor, hazard_id, expected_version, also_lock=also_lock)
    target = LIFECYCLE.require(hazard.status, action)
    previous_status = hazard.status
    station = await _station(session, hazard.station_id)
    today = station_today(station.timezone)
    # The days whose hazard figures this changes: today (a closing), and the closing a reopen undoes.
    recount = {today}
    if hazard.closed_at is not None:
        recount.add(hazard.closed_at.astimezone(ZoneInfo(station.timezone)).date())
    details: dict[str, Any] = {}
    match action:
        case HazardAction.RECTIFY:
            assert isinstance(body, RectifyAction)
            _check_deadline(body.deadline, today, "body.deadline")
            if body.responsible_party is not None:
                hazard.responsible_party = body.responsible_party
            if body.deadline is not None:
                _set_deadline(hazard, body.deadline, today)
            details = _details(responsible_party=body.responsible_party, deadline=body.deadline)
        case HazardAction.ELIMINATE:
            assert isinstance(body, EliminateAction)
            details = await _eliminate(session, actor, hazard, body)
        case HazardAction.DUPLICATE:
            assert isinstance(body, DuplicateAction)
            details = await _mark_duplicate(session, actor, hazard, body.duplicate_of)
        case HazardAction.REFER:
            assert isinstance(body, ReferAction)
            hazard.referred_to = body.agency
            details = _details(agency=body.agency)
        case HazardAction.REOPEN:
            # A reopened hazard starts again: verified anew, with a fresh period to fix it.
            days = (await deadline_days(session, station.id))[hazard.severity]
            hazard.duplicate_of_id = hazard.referred_to = hazard.eliminated_at = hazard.closed_at = None
            hazard.reminded_for = None
            details = _details(previous_deadline=hazard.deadline)
            hazard.status = target  # so that the new deadline counts as an open hazard's
            _set_deadline(hazard, today + timedelta(days=days), today)
            details["deadline"] = str(hazard.deadline)
    if target not in OPEN_STATUSES:
        hazard.closed_at = hazard.eliminated_at or utcnow()
        hazard.overdue = False
    hazard.status = target
    _touch(hazard)
    note = getattr(body, "note", None)
    await record_event(
        session, hazard, action, actor.user_id, note=note, from_status=previous_status, details=details
    )
    await queue_recompute(session, "hazards", hazard.station_id, recount)
    await audit.record(
        session, actor, f"hazard.{action}", target_type="hazard", target_id=hazard.id,
        station_id=hazard.station_id, changes={"from": previous_status.value, "to": target.value, **details},
    )  # fmt: skip
    if hazard.reporter_id != actor.user_id:
        await tell(
            session, hazard, [hazard.reporter_id], "hazard.status_changed", "您报告的隐患有新进展",
            f"状态：{STATUS_LABELS_ZH[target]}。{note or ''}".strip(),
        )  # fmt: skip
    return hazard


# Figures


def _month_start(month: str | None, timezone: ZoneInfo) -> date:
    if month is None:
        return utcnow().astimezone(timezone).date().replace(day=1)
    year, number = month.split("-")
    return date(int(year), int(number), 1)


async def summarise(
    session: AsyncSession,
    actor: Actor,
    *,
    station_id: uuid.UUID | None,
    site_id: uuid.UUID | None,
    month: str | None,
    default_timezone: ZoneInfo,
) -> HazardSummary:
    # Figures for a station or site out of reach would read as "none there": not found instead.
    if station_id is not None and await org_repository.get_station(session, station_id, actor.scope) is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    site = None if site_id is None else await org_repository.get_site(session, site_id, actor.scope)
    if site_id is not None and site is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    # By default the current month: the station's when one is asked for, else the service's.
    station_of = station_id or (site.station_id if site is not None else None)
    timezone = ZoneInfo((await _station(session, station_of)).timezone) if station_of else default_timezone
    first = _month_start(month, timezone)
    rows = await repository.site_summary(
        session, actor.scope, month=first, station_id=station_id, site_id=site_id
    )
    sites = [
        SiteHazardSummary(
            site_id=row.site_id,
            site_name=row.site_name,
            station_id=row.station_id,
            open=row.open,
            overdue=row.overdue,
            eliminated=row.eliminated,
            closed_not_fixed=ClosedNotFixed(
                duplicate=row.duplicate, not_hazard=row.not_hazard, referred=row.referred
            ),
            median_days_to_eliminate=None if row.median_days is None else round(row.median_days, 1),
        )
        for row in rows
    ]
    return HazardSummary(month=f"{first:%Y-%m}", sites=sites)


# Rectification periods


async def _station_in_reach(session: AsyncSession, actor: Actor, station_id: uuid.UUID) -> Station:
    station = await org_repository.get_station(session, station_id, actor.scope)
    if station is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    return station


async def deadline_rules(session: AsyncSession, actor: Actor, station_id: uuid.UUID) -> DeadlineRules:
    station = await _station_in_reach(session, actor, station_id)
    return DeadlineRules(
        station_id=station.id, days=await deadline_days(session, station.id), defaults=DEFAULT_DEADLINE_DAYS
    )


async def set_deadline_rules(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID, data: DeadlineRulesUpdate
) -> DeadlineRules:
    """New periods apply to hazards reported (or reopened) from now on; deadlines already set stay."""
    station = await _station_in_reach(session, actor, station_id)
    await repository.save_deadline_rules(session, station.id, data.days, utcnow())
    await audit.record(
        session, actor, "hazard.deadline_rules.update", target_type="station", target_id=station.id,
        station_id=station.id, changes={str(severity): days for severity, days in data.days.items()},
    )  # fmt: skip
    return await deadline_rules(session, actor, station_id)
