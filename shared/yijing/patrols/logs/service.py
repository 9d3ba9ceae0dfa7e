"""Patrol logs: typed entries written during a patrol (or synced after it) by its members or station staff,
never edited. Each is stored once by the device's ``client_id``; a resend answers the stored entry and a
``client_id`` the station holds for a different entry is a 409.

A ``hazard_found`` entry reports its hazard through the hazards service (at the patrol's site, source
``patrol``, under the entry's ``client_id``) or links one the caller sees at the patrol's station; the entry
and a hazard it reports are stored together or not at all. A ``dispute`` entry opens its case through the
disputes service the same way (or links one, or stands alone). Its ``occurred_at`` lies within the patrol:
from its planned start to its end (planned or actual, whichever is later), with the check-ins' grace either
side, and not after the server receives it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import STAFF, Actor, StationScope
from yijing.disputes import service as disputes
from yijing.disputes.models import DisputeSource
from yijing.disputes.schemas import DisputeCreate
from yijing.errors import Forbidden, InvalidInput
from yijing.hazards import service as hazards
from yijing.hazards.models import HazardSource
from yijing.hazards.schemas import HazardCreate
from yijing.ids import new_id, utcnow
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.org import repository as org_repository
from yijing.patrols import repository as patrols_repository
from yijing.patrols import service as patrols
from yijing.patrols.errors import ClientIdReused, NotAMember
from yijing.patrols.logs import repository
from yijing.patrols.logs.errors import LogNotFound, LogPhotoNotFound, PatrolNotUnderWay
from yijing.patrols.logs.models import LogKind, PatrolLog, PatrolLogPhoto
from yijing.patrols.logs.schemas import TOPICAL, LogCreate, LogFilters, LogRead
from yijing.patrols.models import CLOCK_SKEW, SHIFT_GRACE, Patrol, PatrolStatus
from yijing.personal import PersonalDataProtector
from yijing.photos import store_photo
from yijing.stats.jobs import queue_recompute
from yijing.storage import AttachmentStore, ObjectMissing
from yijing.volunteers import repository as volunteers_repository

UNDER_WAY = frozenset({PatrolStatus.IN_PROGRESS, PatrolStatus.COMPLETED})


def fingerprint(patrol_id: uuid.UUID, author_id: uuid.UUID, data: LogCreate) -> str:
    """Who sent what for one entry, as a hash: the same entry sent again has the same one."""
    canonical = data.model_copy(update={"occurred_at": data.occurred_at.astimezone(UTC)})
    return hashlib.sha256(f"{patrol_id}|{author_id}|{canonical.model_dump_json()}".encode()).hexdigest()


def _check_kind(data: LogCreate) -> None:
    """What each kind needs and allows beyond the schema."""
    if data.kind in TOPICAL and data.topic is None:
        raise InvalidInput.on(
            "body.topic",
            f"a {data.kind} entry names its topic",
            "topic_missing",
            zh=f"{data.kind} 类记录须注明主题",
        )
    if data.kind not in TOPICAL and data.topic is not None:
        message = "only persuasion and outreach entries have a topic"
        zh = "只有安全劝导（persuasion）和安全宣传（outreach）记录才有主题"
        raise InvalidInput.on("body.topic", message, "topic_not_allowed", zh=zh)
    reports = data.kind is LogKind.HAZARD_FOUND
    if reports and (data.hazard_id is None) == (data.hazard is None):
        message = "a hazard_found entry gives either hazard (a new report) or hazard_id (a link)"
        zh = "发现隐患（hazard_found）记录须填写 hazard（新上报）或 hazard_id（关联已有隐患）二者之一"
        raise InvalidInput.on("body.hazard", message, "hazard_missing", zh=zh)
    if not reports and (data.hazard_id is not None or data.hazard is not None):
        raise InvalidInput.on(
            "body.hazard",
            "only hazard_found entries report or link a hazard",
            "hazard_not_allowed",
            zh="只有发现隐患（hazard_found）记录才能上报或关联隐患",
        )
    if data.kind is LogKind.DISPUTE and data.dispute_id is not None and data.dispute is not None:
        message = "a dispute entry gives either dispute (a new case) or dispute_id (a link), not both"
        zh = (
            "纠纷（dispute）记录只能填写 dispute（新案件）或 dispute_id（关联已有案件）其中之一，不能同时填写"
        )
        raise InvalidInput.on("body.dispute", message, "dispute_twice", zh=zh)
    if data.kind is not LogKind.DISPUTE and (data.dispute_id is not None or data.dispute is not None):
        raise InvalidInput.on(
            "body.dispute",
            "only dispute entries open or link a dispute",
            "dispute_not_allowed",
            zh="只有纠纷（dispute）记录才能新建或关联纠纷",
        )


def _check_time(data: LogCreate, patrol: Patrol) -> None:
    now = utcnow()
    end = max(patrol.planned_end, patrol.ended_at or now)
    if data.occurred_at > now + CLOCK_SKEW:
        message = "is in the future (check the device's clock)"
        raise InvalidInput.on("body.occurred_at", message, "future_time", zh="晚于当前时间（请检查设备时间）")
    if not patrol.planned_start - SHIFT_GRACE <= data.occurred_at <= end + SHIFT_GRACE:
        message = (
            f"is outside the patrol ({patrol.planned_start.isoformat()} – {end.isoformat()}, "
            f"{SHIFT_GRACE.seconds // 60} minutes' grace)"
        )
        zh = (
            f"不在本次巡防时间内（{patrol.planned_start.isoformat()} – {end.isoformat()}，"
            f"前后各宽限 {SHIFT_GRACE.seconds // 60} 分钟）"
        )
        raise InvalidInput.on("body.occurred_at", message, "outside_patrol", zh=zh)


async def _writer(session: AsyncSession, actor: Actor, patrol: Patrol) -> uuid.UUID | None:
    """Staff write the log of any patrol they reach; a volunteer only of a patrol they are a member of.
    The writer's volunteer record, when a volunteer writes."""
    if actor.user_id is None:
        raise Forbidden(
            "patrol logs are written by people, not API keys", zh="巡防日志须由人员填写，不能使用 API 密钥"
        )
    if actor.role in STAFF:
        return None
    volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
    if volunteer is None or not await patrols_repository.is_member(session, patrol.id, volunteer.id):
        raise NotAMember(
            "only the patrol's members and station staff write its log",
            zh="只有本次巡防的队员和派出所工作人员可以填写巡防日志",
        )
    return volunteer.id


def _stored(log: PatrolLog, sent: str) -> PatrolLog:
    if log.fingerprint != sent:
        raise ClientIdReused(
            "the station holds another log entry under this client_id; make a new id for each entry",
            zh="本派出所已有其他日志记录使用了该 client_id，请为每条记录生成新的 client_id",
            client_ids=[str(log.client_id)],
        )
    return log


async def _hazard_of(
    session: AsyncSession, actor: Actor, patrol: Patrol, data: LogCreate
) -> uuid.UUID | None:
    """The hazard a hazard_found entry reports (now) or links."""
    if data.hazard_id is not None:
        hazard = await hazards.get_hazard(session, actor, data.hazard_id)
        if hazard.station_id != patrol.station_id:
            raise InvalidInput.on(
                "body.hazard_id", "is a hazard of another station", "other_station", zh="是其他派出所的隐患"
            )
        return hazard.id
    if data.hazard is None:
        return None
    report = HazardCreate(
        **data.hazard.model_dump(), site_id=patrol.site_id, source=HazardSource.PATROL,
        location=data.location, client_id=data.client_id, captured_at=min(data.occurred_at, utcnow()),
    )  # fmt: skip
    hazard, _ = await hazards.report_hazard(session, actor, report)
    return hazard.id


async def _dispute_of(
    session: AsyncSession,
    actor: Actor,
    patrol: Patrol,
    data: LogCreate,
    volunteer_id: uuid.UUID | None,
    protector: PersonalDataProtector,
) -> uuid.UUID | None:
    """The case a dispute entry opens (now) or links, if any."""
    if data.dispute_id is not None:
        dispute = await disputes.get_dispute(session, actor, data.dispute_id)
        if dispute.station_id != patrol.station_id:
            raise InvalidInput.on(
                "body.dispute_id", "is a dispute of another station", "other_station", zh="是其他派出所的纠纷"
            )
        return dispute.id
    if data.dispute is None:
        return None
    case = DisputeCreate(
        **data.dispute.model_dump(), site_id=patrol.site_id, source=DisputeSource.PATROL, patrol_id=patrol.id,
        location=data.location, occurred_at=data.occurred_at, reported_at=min(data.occurred_at, utcnow()),
        mediator_volunteer_ids=[volunteer_id] if volunteer_id else [], client_id=data.client_id,
    )  # fmt: skip
    dispute, _ = await disputes.report_dispute(session, actor, case, protector)
    return dispute.id


async def write_log(
    session: AsyncSession,
    actor: Actor,
    patrol_id: uuid.UUID,
    data: LogCreate,
    protector: PersonalDataProtector,
) -> tuple[LogRead, bool]:
    """The stored entry, and whether it is new (False: the same entry sent again)."""
    patrol = await patrols.get_patrol(session, actor, patrol_id)
    volunteer_id = await _writer(session, actor, patrol)
    assert actor.user_id is not None
    _check_kind(data)
    sent = fingerprint(patrol.id, actor.user_id, data)
    replayed = await repository.by_client_id(session, patrol.station_id, data.client_id)
    if replayed is not None:
        return await _read(session, _stored(replayed, sent)), False
    if patrol.status not in UNDER_WAY:
        raise PatrolNotUnderWay(
            f"the patrol is {patrol.status}: its log is written once it has started",
            zh=f"该巡防的状态为 {patrol.status}，巡防开始后才能填写日志",
            current_status=str(patrol.status),
        )
    _check_time(data, patrol)
    log = PatrolLog(
        **data.model_dump(exclude={"location", "hazard", "hazard_id", "dispute", "dispute_id", "topic"}),
        topic=data.topic.value if data.topic else None,
        latitude=data.location.latitude if data.location else None,
        longitude=data.location.longitude if data.location else None,
        station_id=patrol.station_id, patrol_id=patrol.id, fingerprint=sent, author_id=actor.user_id,
        volunteer_id=volunteer_id,
    )  # fmt: skip
    try:
        # The entry and a hazard or case it opens go together.
        async with session.begin_nested():
            log.hazard_id = await _hazard_of(session, actor, patrol, data)
            log.dispute_id = await _dispute_of(session, actor, patrol, data, volunteer_id, protector)
            await repository.save(session, log)
    except IntegrityError:
        # The same entry sent twice at once: the other request stored it first.
        stored = await repository.by_client_id(session, patrol.station_id, data.client_id)
        if stored is None:
            raise
        return await _read(session, _stored(stored, sent)), False
    if log.kind in TOPICAL:  # persuasions and outreach are counted in the statistics
        station = await org_repository.get_station(session, patrol.station_id, StationScope.everywhere())
        assert station is not None  # a station with patrols cannot be deleted
        day = log.occurred_at.astimezone(ZoneInfo(station.timezone)).date()
        await queue_recompute(session, "patrol_logs", station.id, [day])
    return LogRead.of(log), True


async def _read(reader: Reader, log: PatrolLog | LeanRow) -> LogRead:
    """The entry with its photos (read lean)."""
    return LogRead.of(log, (await repository.photos_of(reader, [log.id]))[log.id])


def _not_found(patrol_id: uuid.UUID, log_id: uuid.UUID) -> LogNotFound:
    return LogNotFound(
        f"no log entry {log_id} of the patrol {patrol_id}", zh=f"巡防 {patrol_id} 没有日志记录 {log_id}"
    )


async def _log(
    session: AsyncSession, actor: Actor, patrol_id: uuid.UUID, log_id: uuid.UUID
) -> tuple[Patrol, PatrolLog]:
    patrol = await patrols.get_patrol(session, actor, patrol_id)
    log = await repository.get(session, patrol.id, log_id)
    if log is None:
        raise _not_found(patrol_id, log_id)
    return patrol, log


async def read_log(reader: Reader, actor: Actor, patrol_id: uuid.UUID, log_id: uuid.UUID) -> LogRead:
    """An entry of a patrol within the caller's reach, with its photos (read lean)."""
    await patrols.check_reach(reader, actor, patrol_id)
    log = await repository.read(reader, patrol_id, log_id)
    if log is None:
        raise _not_found(patrol_id, log_id)
    return await _read(reader, log)


async def list_logs(
    reader: Reader, actor: Actor, patrol_id: uuid.UUID, filters: LogFilters, page: PageParams
) -> Page[LogRead]:
    """A page of the patrol's log, with the photos of all its entries read in one query (read lean)."""
    await patrols.check_reach(reader, actor, patrol_id)
    logs = await repository.list_logs(reader, patrol_id, filters, page)
    photos = await repository.photos_of(reader, [log.id for log in logs[: page.limit]])
    return page_of(logs, page.limit, lambda log: LogRead.of(log, photos[log.id]))


# Photos


async def add_photo(
    session: AsyncSession,
    actor: Actor,
    store: AttachmentStore,
    patrol_id: uuid.UUID,
    log_id: uuid.UUID,
    *,
    file_name: str,
    data: bytes,
    strip_gps: bool,
    max_bytes: int,
) -> tuple[PatrolLogPhoto, PatrolLog, bool]:
    """The stored photo, its entry, and whether the photo is new (False: the same upload sent again).
    Whoever may write the patrol's log adds photos to its entries."""
    patrol, log = await _log(session, actor, patrol_id, log_id)
    await _writer(session, actor, patrol)
    photo_id = new_id()

    async def stored(upload_sha256: str) -> PatrolLogPhoto | None:
        return await repository.photo_by_upload(session, log.id, upload_sha256, strip_gps)

    def new_row(photo: dict[str, Any]) -> PatrolLogPhoto:
        return PatrolLogPhoto(
            id=photo_id, log_id=log.id, file_name=file_name, uploaded_by=actor.user_id,
            storage_key=f"patrols/{log.patrol_id}/logs/{log.id}/{photo_id}", **photo,
        )  # fmt: skip

    async def write(photo: PatrolLogPhoto) -> None:
        await repository.save(session, photo)

    photo, created = await store_photo(
        session, store, data, strip_gps=strip_gps, max_bytes=max_bytes, stored=stored, new_row=new_row,
        write=write,
    )  # fmt: skip
    return photo, log, created


async def open_photo(
    session: AsyncSession,
    actor: Actor,
    store: AttachmentStore,
    patrol_id: uuid.UUID,
    log_id: uuid.UUID,
    photo_id: uuid.UUID,
) -> tuple[PatrolLogPhoto, bytes]:
    _, log = await _log(session, actor, patrol_id, log_id)
    photo = await repository.get_photo(session, log.id, photo_id)
    if photo is None:
        raise LogPhotoNotFound(
            f"no photo {photo_id} of the log entry {log_id}", zh=f"日志记录 {log_id} 没有照片 {photo_id}"
        )
    try:
        return photo, await store.get(photo.storage_key)
    except ObjectMissing as exc:
        raise LogPhotoNotFound(
            f"the file of photo {photo_id} is missing from the attachment store",
            zh=f"照片 {photo_id} 的文件在附件存储中缺失",
        ) from exc
