"""Trainings: scheduling a session for an audience (sites, groups, named volunteers) that enrolment follows,
changing or cancelling it before it starts, and taking its attendance: the session's rotating code scanned
by the volunteer, a check-in by staff in the room, minutes online, an excuse.

Reach: staff see their stations' trainings; a volunteer those they are enrolled in, and only their own
attendance."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, and_, false
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.errors import Forbidden, InvalidInput, check_version
from yijing.ids import utcnow
from yijing.kit import repository as kit
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.kit.versions import apply_changes
from yijing.notifications.jobs import notify_many
from yijing.notifications.service import DeliverPayload
from yijing.org import repository as org_repository
from yijing.org.errors import StationNotFound
from yijing.rota import repository as rota_repository
from yijing.stats.jobs import queue_recompute
from yijing.training import repository
from yijing.training.compliance import next_month
from yijing.training.errors import (
    AttendanceNotFound,
    NotEnrolled,
    TrainingNotFound,
    TrainingNotOpen,
    TrainingStarted,
    WrongCode,
)
from yijing.training.models import (
    AttendanceStatus,
    AudienceKind,
    CheckinMethod,
    Training,
    TrainingAttendance,
    TrainingAudience,
    TrainingMode,
    TrainingStatus,
)
from yijing.training.schemas import (
    AttendanceFilters,
    AttendanceRead,
    Audience,
    AudienceRead,
    CancelTraining,
    ExcuseAttendance,
    SessionCodeRead,
    TrainingCreate,
    TrainingFilters,
    TrainingRead,
    TrainingUpdate,
)
from yijing.volunteers import repository as volunteers_repository

# Attendance is taken from this long before a session starts until this long after it ends.
SESSION_GRACE = timedelta(minutes=15)
LONGEST_SESSION = timedelta(hours=12)
# The most accounts one notice names (DeliverPayload's limit): a larger audience gets several.
_RECIPIENTS_PER_NOTICE = 10_000


# Reading


async def _reads(
    reader: Reader, trainings: Sequence[Training | LeanRow]
) -> Callable[[Training | LeanRow], TrainingRead]:
    """What makes the trainings' read models: their audiences and enrolment counts read first, one query
    each for them all."""
    ids = [training.id for training in trainings]
    audiences = await repository.audiences_of(reader, ids)
    counts = await repository.enrolled_counts(reader, ids)
    return lambda training: TrainingRead.of(
        training,
        [AudienceRead.of(row) for row in audiences.get(training.id, [])],
        counts.get(training.id, 0),
    )


async def detail(reader: Reader, training: Training | LeanRow) -> TrainingRead:
    return (await _reads(reader, [training]))(training)


async def training_reach(reader: Reader, actor: Actor) -> ColumnElement[bool]:
    """The SQL condition for the trainings the caller may see."""
    return _reach(actor, await _own_volunteer(reader, actor))


async def _own_volunteer(reader: Reader, actor: Actor) -> uuid.UUID | None:
    """A volunteer caller's record, whatever its status now (a suspended volunteer still sees the trainings
    they were enrolled in); None for anyone else."""
    if actor.role is not Role.VOLUNTEER:
        return None
    return await volunteers_repository.volunteer_id_of(reader, actor.user_id)


def _reach(actor: Actor, volunteer_id: uuid.UUID | None) -> ColumnElement[bool]:
    clause = actor.scope.clause(Training.station_id)
    if actor.role is not Role.VOLUNTEER:
        return clause
    if volunteer_id is None:
        return false()
    return and_(clause, repository.enrolled(volunteer_id))


async def get_training(
    session: AsyncSession, actor: Actor, training_id: uuid.UUID, *, for_update: bool = False
) -> Training:
    reach = await training_reach(session, actor)
    training = await repository.get(session, training_id, reach, for_update=for_update)
    if training is None:
        raise TrainingNotFound(f"no training {training_id}", zh=f"未找到培训 {training_id}")
    return training


async def read_training(reader: Reader, actor: Actor, training_id: uuid.UUID) -> TrainingRead:
    """A training within the caller's reach, as its read model (read lean)."""
    row = await repository.read(reader, training_id, await training_reach(reader, actor))
    if row is None:
        raise TrainingNotFound(f"no training {training_id}", zh=f"未找到培训 {training_id}")
    return await detail(reader, row)


async def list_trainings(
    reader: Reader, actor: Actor, filters: TrainingFilters, page: PageParams
) -> Page[TrainingRead]:
    trainings = await repository.list_trainings(reader, await training_reach(reader, actor), filters, page)
    return page_of(trainings, page.limit, await _reads(reader, trainings[: page.limit]))


# Scheduling


def _check_session(
    mode: TrainingMode, starts_at: datetime, ends_at: datetime, place: str | None, meeting_url: str | None
) -> None:
    if ends_at <= starts_at:
        raise InvalidInput.on(
            "body.ends_at", "is not after starts_at", "ends_before_start", zh="须晚于 starts_at"
        )
    if ends_at - starts_at > LONGEST_SESSION:
        raise InvalidInput.on(
            "body.ends_at", "makes the session longer than 12 hours", "too_long", zh="使单次培训超过 12 小时"
        )
    if mode is not TrainingMode.ONLINE and place is None:
        raise InvalidInput.on(
            "body.place",
            f"a training {mode} names its place",
            "place_missing",
            zh=f"{mode} 方式的培训须填写地点",
        )
    if mode is not TrainingMode.OFFLINE and meeting_url is None:
        message = f"a training {mode} names its meeting link"
        zh = f"{mode} 方式的培训须填写会议链接"
        raise InvalidInput.on("body.meeting_url", message, "meeting_url_missing", zh=zh)


async def _audience_rows(
    session: AsyncSession, training_id: uuid.UUID, station_id: uuid.UUID, audience: Audience
) -> list[TrainingAudience]:
    """The audience as stored, once it names only the station's sites, groups and volunteers."""
    site_ids = list(dict.fromkeys(audience.site_ids))
    group_ids = list(dict.fromkeys(audience.group_ids))
    volunteer_ids = list(dict.fromkeys(audience.volunteer_ids))
    if not (site_ids or group_ids or volunteer_ids):
        raise InvalidInput.on(
            "body.audience",
            "names no site, group or volunteer",
            "audience_empty",
            zh="未指定任何站点、分组或义警",
        )
    checks = (
        ("site_ids", site_ids, repository.station_sites, "unknown_site"),
        ("group_ids", group_ids, repository.station_groups, "unknown_group"),
        ("volunteer_ids", volunteer_ids, repository.station_volunteers, "unknown_volunteer"),
    )
    for field, wanted, found_in, code in checks:
        unknown = set(wanted) - (await found_in(session, station_id, wanted) if wanted else set())
        if unknown:
            names = ", ".join(sorted(str(unknown_id) for unknown_id in unknown))
            raise InvalidInput.on(
                f"body.audience.{field}",
                f"not of the training's station: {names}",
                code,
                zh=f"以下各项不属于本培训所在派出所：{names}",
            )
    return [
        *(TrainingAudience(training_id=training_id, kind=AudienceKind.SITE, site_id=i) for i in site_ids),
        *(TrainingAudience(training_id=training_id, kind=AudienceKind.GROUP, group_id=i) for i in group_ids),
        *(
            TrainingAudience(training_id=training_id, kind=AudienceKind.VOLUNTEER, volunteer_id=i)
            for i in volunteer_ids
        ),
    ]


def _audience_json(audience: Audience) -> dict[str, Any]:
    return to_jsonable_python(audience.model_dump())  # type: ignore[no-any-return]


async def create_training(session: AsyncSession, actor: Actor, data: TrainingCreate) -> Training:
    station = await org_repository.get_station(session, data.station_id, actor.scope)
    if station is None:
        raise StationNotFound(f"no station {data.station_id}", zh=f"未找到派出所 {data.station_id}")
    _check_session(data.mode, data.starts_at, data.ends_at, data.place, data.meeting_url)
    now = utcnow()
    training = Training(
        **data.model_dump(exclude={"audience", "topics"}),
        topics=[topic.value for topic in data.topics],
        code_secret=os.urandom(32),
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    audience = await _audience_rows(session, training.id, station.id, data.audience)
    await repository.save(session, training)
    await repository.save_all(session, audience)
    await repository.sync_enrolment(session, training)
    changes = to_jsonable_python(data.model_dump(exclude={"audience"})) | {
        "audience": _audience_json(data.audience)
    }
    await audit.record(
        session, actor, "training.create", target_type="training", target_id=training.id,
        station_id=training.station_id, changes=changes,
    )  # fmt: skip
    return training


async def _training_to_change(
    session: AsyncSession, actor: Actor, training_id: uuid.UUID, expected_version: int | None
) -> Training:
    """The training, locked for this transaction, after the caller's If-Match is checked; still scheduled
    and not started."""
    training = await get_training(session, actor, training_id, for_update=True)
    check_version(training.version, expected_version)
    if training.status is not TrainingStatus.SCHEDULED:
        raise TrainingNotOpen(
            f"training {training.id} is {training.status}",
            zh=f"培训 {training.id} 的状态为 {training.status}",
        )
    if utcnow() >= training.starts_at:
        raise TrainingStarted(
            f"training {training.id} has started: it is changed only before it starts",
            zh=f"培训 {training.id} 已开始，只能在开始前修改",
        )
    return training


# Fields where null means "clear it"; for the others null means "leave it".
_CLEARABLE = frozenset({"place", "meeting_url"})
# Changing these re-reads who is enrolled.
_ENROLMENT_BY = frozenset({"audience", "starts_at", "ends_at"})


async def update_training(
    session: AsyncSession,
    actor: Actor,
    training_id: uuid.UUID,
    data: TrainingUpdate,
    expected_version: int | None,
) -> Training:
    training = await _training_to_change(session, actor, training_id, expected_version)
    given = {
        key: value
        for key, value in data.model_dump(exclude_unset=True, exclude={"audience"}).items()
        if value is not None or key in _CLEARABLE
    }
    if "topics" in given:
        given["topics"] = [topic.value for topic in data.topics or []]
    session_fields = ("mode", "starts_at", "ends_at", "place", "meeting_url")
    _check_session(*(given.get(key, getattr(training, key)) for key in session_fields))
    audience = None
    if data.audience is not None:
        audience = await _audience_rows(session, training.id, training.station_id, data.audience)
    changes = apply_changes(training, given)
    if data.audience is not None and audience is not None:
        await repository.replace_audience(session, training.id, audience)
        if not changes:  # a new audience alone is a new version too
            training.version += 1
            training.updated_at = utcnow()
        changes["audience"] = _audience_json(data.audience)
    if not changes:
        return training
    if changes.keys() & _ENROLMENT_BY:
        await repository.sync_enrolment(session, training)
    await audit.record(
        session, actor, "training.update", target_type="training", target_id=training.id,
        station_id=training.station_id, changes=changes,
    )  # fmt: skip
    return training


async def cancel_training(
    session: AsyncSession,
    actor: Actor,
    training_id: uuid.UUID,
    data: CancelTraining,
    expected_version: int | None,
) -> Training:
    """Cancelled before it starts; the enrolled volunteers are told (the title and time only)."""
    training = await _training_to_change(session, actor, training_id, expected_version)
    now = utcnow()
    apply_changes(
        training, {"status": TrainingStatus.CANCELLED, "cancel_reason": data.reason, "cancelled_at": now}
    )
    await audit.record(
        session, actor, "training.cancel", target_type="training", target_id=training.id,
        station_id=training.station_id, changes={"reason": data.reason},
    )  # fmt: skip
    accounts = await repository.enrolled_accounts(session, training.id)
    zone = ZoneInfo(await rota_repository.station_timezone(session, training.station_id))
    starts = training.starts_at.astimezone(zone)
    title, body = "培训取消", f"{training.title}（{starts:%Y-%m-%d %H:%M}）已取消"
    notices = [
        DeliverPayload(
            recipients=accounts[first : first + _RECIPIENTS_PER_NOTICE],
            kind="training.cancelled",
            title=title,
            body=body,
            link=f"/api/v1/trainings/{training.id}",
            dedupe_key=f"training.cancelled:{training.id}:{first}",
        )
        for first in range(0, len(accounts), _RECIPIENTS_PER_NOTICE)
    ]
    await notify_many(session, notices)
    return training


# Attendance


async def list_attendance(
    reader: Reader, actor: Actor, training_id: uuid.UUID, filters: AttendanceFilters
) -> list[AttendanceRead]:
    """Staff see every row; a volunteer only their own (read lean)."""
    volunteer_id = await _own_volunteer(reader, actor)
    if not await kit.reaches(reader, Training, training_id, _reach(actor, volunteer_id)):
        raise TrainingNotFound(f"no training {training_id}", zh=f"未找到培训 {training_id}")
    rows = await repository.attendance_rows(reader, training_id, filters, volunteer_id)
    return [AttendanceRead.of(row, row.volunteer_name) for row in rows]


def code_at(training: Training, moment: datetime) -> str:
    """The six digits the session shows in the minute of ``moment``: only its own secret makes them."""
    minute_index = int(moment.timestamp()) // 60
    message = f"{training.id}:{minute_index}".encode()
    digest = hmac.new(training.code_secret, message, hashlib.sha256).digest()
    return f"{int.from_bytes(digest, 'big') % 1_000_000:06d}"


def _check_open(training: Training, now: datetime) -> None:
    if training.status is not TrainingStatus.SCHEDULED:
        raise TrainingNotOpen(
            f"training {training.id} is {training.status}",
            zh=f"培训 {training.id} 的状态为 {training.status}",
        )
    if not training.starts_at - SESSION_GRACE <= now <= training.ends_at + SESSION_GRACE:
        raise TrainingNotOpen(
            f"attendance is taken from {SESSION_GRACE.seconds // 60} minutes before the session until "
            f"{SESSION_GRACE.seconds // 60} minutes after it",
            zh=f"签到时间为培训开始前 {SESSION_GRACE.seconds // 60} 分钟"
            f"至结束后 {SESSION_GRACE.seconds // 60} 分钟",
        )


async def session_code(session: AsyncSession, actor: Actor, training_id: uuid.UUID) -> SessionCodeRead:
    training = await get_training(session, actor, training_id)
    now = utcnow()
    _check_open(training, now)
    code = code_at(training, now)
    minute = now.replace(second=0, microsecond=0)
    return SessionCodeRead(
        code=code,
        valid_until=minute + timedelta(minutes=1),
        qr_payload=f"yijing:training:{training.id}:{code}",
    )


async def checkin_with_code(
    session: AsyncSession, actor: Actor, training_id: uuid.UUID, code: str
) -> AttendanceRead:
    """The volunteer's own check-in with the code shown now (or a minute ago, scanned at the turn of the
    minute); the first check-in is kept."""
    volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
    if volunteer is None:
        raise Forbidden("only active volunteers check in to trainings", zh="只有在岗义警可以参加培训签到")
    training = await repository.get(session, training_id, actor.scope.clause(Training.station_id))
    if training is None:
        raise TrainingNotFound(f"no training {training_id}", zh=f"未找到培训 {training_id}")
    row = await repository.attendance(session, training.id, volunteer.id, for_update=True)
    if row is None:
        raise NotEnrolled("you are not enrolled in this training", zh="您不在本培训的参训名单中")
    now = utcnow()
    _check_open(training, now)
    accepted = (code_at(training, now), code_at(training, now - timedelta(minutes=1)))
    # Both compared, in constant time: how long it takes says nothing about the codes.
    matches = [hmac.compare_digest(code, valid) for valid in accepted]
    if not any(matches):
        raise WrongCode.on(
            "body.code", "is not this training's code now", WrongCode.code, zh="不是本培训当前的签到码"
        )
    if row.checked_in_at is None:
        row.checked_in_at, row.checkin_method, row.updated_at = now, CheckinMethod.CODE, now
        await repository.save(session, row)
    return AttendanceRead.of(row, volunteer.name)


async def recount(session: AsyncSession, training: Training) -> None:
    """Ask for the statistics of the settled training's day to be recounted once the transaction commits,
    and of the rest of its month: a volunteer counts as trained on the day of their first of the month."""
    station = await org_repository.get_station(session, training.station_id, StationScope.everywhere())
    assert station is not None  # a station with trainings cannot be deleted
    day = training.starts_at.astimezone(ZoneInfo(station.timezone)).date()
    month_end = next_month(day.replace(day=1))
    await queue_recompute(
        session,
        "trainings",
        training.station_id,
        [day + timedelta(days=n) for n in range((month_end - day).days)],
    )


async def _attendance_to_change(
    session: AsyncSession, actor: Actor, training_id: uuid.UUID, volunteer_id: uuid.UUID
) -> tuple[Training, TrainingAttendance]:
    training = await get_training(session, actor, training_id)
    row = await repository.attendance(session, training.id, volunteer_id, for_update=True)
    if row is None:
        raise AttendanceNotFound(
            f"volunteer {volunteer_id} is not enrolled in training {training.id}",
            zh=f"义警 {volunteer_id} 不在培训 {training.id} 的参训名单中",
        )
    return training, row


async def _audit_attendance(
    session: AsyncSession,
    actor: Actor,
    action: str,
    training: Training,
    row: TrainingAttendance,
    changes: dict[str, Any],
) -> None:
    await audit.record(
        session, actor, f"training.attendance.{action}", target_type="training", target_id=training.id,
        station_id=training.station_id, changes={"volunteer_id": str(row.volunteer_id), **changes},
    )  # fmt: skip


async def officer_checkin(
    session: AsyncSession, actor: Actor, training_id: uuid.UUID, volunteer_id: uuid.UUID
) -> AttendanceRead:
    """Staff in the room check the volunteer in now; the first check-in is kept."""
    training, row = await _attendance_to_change(session, actor, training_id, volunteer_id)
    now = utcnow()
    _check_open(training, now)
    if row.checked_in_at is None:
        row.checked_in_at, row.checkin_method, row.checked_in_by = now, CheckinMethod.OFFICER, actor.user_id
        row.updated_at = now
        await repository.save(session, row)
        await _audit_attendance(session, actor, "checkin", training, row, {"checked_in_at": now.isoformat()})
    return AttendanceRead.of(row, await repository.volunteer_name(session, row.volunteer_id))


def session_minutes(training: Training) -> int:
    return int((training.ends_at - training.starts_at).total_seconds()) // 60


async def set_online_minutes(
    session: AsyncSession, training: Training, attendance_rows_by_volunteer: dict[uuid.UUID, int]
) -> int:
    """Store minutes online (from staff or a meeting platform's export) for the enrolled volunteers among
    those given, until the training is settled; returns how many rows took them. The caller has checked
    each number against the session."""
    if training.status is not TrainingStatus.SCHEDULED:
        raise TrainingNotOpen(
            f"training {training.id} is {training.status}: its attendance is decided",
            zh=f"培训 {training.id} 的状态为 {training.status}，出勤已认定",
        )
    return await repository.set_minutes(session, training.id, attendance_rows_by_volunteer)


async def put_online_minutes(
    session: AsyncSession, actor: Actor, training_id: uuid.UUID, volunteer_id: uuid.UUID, minutes: int
) -> AttendanceRead:
    training, row = await _attendance_to_change(session, actor, training_id, volunteer_id)
    if training.mode is TrainingMode.OFFLINE:
        raise InvalidInput.on(
            "body.minutes",
            "the training is offline: it has no minutes online",
            "not_online",
            zh="该培训为线下培训，没有在线时长",
        )
    if minutes > session_minutes(training):
        message = f"is more than the session's {session_minutes(training)} minutes"
        zh = f"超过了本次培训的 {session_minutes(training)} 分钟"
        raise InvalidInput.on("body.minutes", message, "more_than_session", zh=zh)
    previous = row.online_minutes
    await set_online_minutes(session, training, {row.volunteer_id: minutes})
    await _audit_attendance(
        session, actor, "minutes", training, row, {"online_minutes": {"from": previous, "to": minutes}}
    )
    return AttendanceRead.of(row, await repository.volunteer_name(session, row.volunteer_id))


async def excuse(
    session: AsyncSession,
    actor: Actor,
    training_id: uuid.UUID,
    volunteer_id: uuid.UUID,
    data: ExcuseAttendance,
) -> AttendanceRead:
    """Excused, with the reason, before or after the session is settled: never counted as absent."""
    training, row = await _attendance_to_change(session, actor, training_id, volunteer_id)
    previous = row.status
    row.status, row.excuse_reason, row.excused_by = AttendanceStatus.EXCUSED, data.reason, actor.user_id
    row.updated_at = utcnow()
    await repository.save(session, row)
    if training.status is TrainingStatus.SETTLED and previous is not AttendanceStatus.EXCUSED:
        await recount(session, training)
    # The reason may be private (an illness): the audit log records that one was given.
    await _audit_attendance(
        session, actor, "excuse", training, row, {"from": previous.value, "reason": "(text)"}
    )
    return AttendanceRead.of(row, await repository.volunteer_name(session, row.volunteer_id))
