"""Check-ins: kept as the device sent them, each judged against its patrol when it arrives.

A check-in is **flagged** (kept, but counting toward nothing until staff accept it) when its code names no
checkpoint of the station, or a checkpoint of another route; when it lies further from its checkpoint than
the checkpoint's radius plus the fix's accuracy; when it was captured outside the planned shift (with
``SHIFT_GRACE`` either side); or when it was captured after the server received it (beyond ``CLOCK_SKEW``:
the device's clock is wrong, so its times prove nothing). A free point (no code) is judged by time only.

Offline batches are idempotent by the device's ``client_id``: a batch sent twice, or four times at once,
stores each check-in once and answers the stored ones; a ``client_id`` the station holds for a different
check-in is a 409 and nothing of the batch is stored."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.audit import service as audit
from yijing.geo import distance_m
from yijing.ids import new_id, utcnow
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.patrols import repository as patrols_repository
from yijing.patrols import service as patrols
from yijing.patrols.checkins import repository
from yijing.patrols.checkins.errors import CheckinNotFound, CheckinNotPending, PatrolCancelled
from yijing.patrols.checkins.models import CheckinFlag, CheckinReview, PatrolCheckin
from yijing.patrols.checkins.schemas import (
    CheckinBatch,
    CheckinBatchRead,
    CheckinCreate,
    CheckinFilters,
    CheckinRead,
    CheckinReviewCreate,
    ReviewDecision,
)
from yijing.patrols.errors import ClientIdReused, NotAMember
from yijing.patrols.models import CLOCK_SKEW, SHIFT_GRACE, Patrol, PatrolStatus
from yijing.patrols.routes.models import PatrolCheckpoint
from yijing.patrols.routes.service import shows_codes
from yijing.patrols.settlement.jobs import queue_resettle
from yijing.volunteers import repository as volunteers_repository


def fingerprint(patrol_id: uuid.UUID, volunteer_id: uuid.UUID, item: CheckinCreate) -> str:
    """Who sent what for one check-in, as a hash: the same check-in sent again has the same one."""
    sent = (
        patrol_id, volunteer_id, item.client_id, item.code, item.location.latitude, item.location.longitude,
        item.accuracy_m, item.captured_at.astimezone(UTC).isoformat(),
    )  # fmt: skip
    return hashlib.sha256(repr(sent).encode()).hexdigest()


def judge(
    item: CheckinCreate, checkpoint: PatrolCheckpoint | None, patrol: Patrol, received_at: datetime
) -> tuple[dict[str, str], float | None]:
    """The flags of one check-in (flag → why) and its distance from the checkpoint its code names."""
    flags: dict[str, str] = {}
    distance = None
    if item.code is not None and checkpoint is None:
        flags[CheckinFlag.UNKNOWN_CODE] = "no checkpoint of the station carries this code"
    if checkpoint is not None:
        if checkpoint.route_id != patrol.route_id:
            flags[CheckinFlag.OTHER_ROUTE] = f"the code is checkpoint {checkpoint.name!r}'s, on another route"
        distance = distance_m(
            item.location.latitude, item.location.longitude, checkpoint.latitude, checkpoint.longitude
        )
        if distance > checkpoint.radius_m + item.accuracy_m:
            flags[CheckinFlag.TOO_FAR] = (
                f"{distance:.0f} m from {checkpoint.name!r}: more than its radius of {checkpoint.radius_m} m "
                f"plus the fix's accuracy of {item.accuracy_m:.0f} m"
            )
    if item.captured_at > received_at + CLOCK_SKEW:
        flags[CheckinFlag.FUTURE_CAPTURE] = (
            f"captured at {item.captured_at.isoformat()}, after the server received it at "
            f"{received_at.isoformat()}: check the device's clock"
        )
    if not patrol.planned_start - SHIFT_GRACE <= item.captured_at <= patrol.planned_end + SHIFT_GRACE:
        flags[CheckinFlag.OUTSIDE_SHIFT] = (
            f"captured at {item.captured_at.isoformat()}, outside the shift "
            f"{patrol.planned_start.isoformat()} – {patrol.planned_end.isoformat()} "
            f"({SHIFT_GRACE.seconds // 60} minutes' grace)"
        )
    return flags, distance


def read(checkin: PatrolCheckin | LeanRow, actor: Actor) -> CheckinRead:
    return CheckinRead.of(checkin, show_code=shows_codes(actor))


async def _member_volunteer_id(session: AsyncSession, actor: Actor, patrol: Patrol) -> uuid.UUID:
    """The caller's volunteer record, if it is a member of the patrol: only members check in."""
    volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
    if volunteer is None or not await patrols_repository.is_member(session, patrol.id, volunteer.id):
        raise NotAMember("only the patrol's members check in to it", zh="只有本次巡防的队员可以打卡")
    return volunteer.id


def _refuse_reuse(stored: dict[uuid.UUID, str], sent: dict[uuid.UUID, str]) -> None:
    """``stored``: the fingerprints the station holds under the batch's client_ids."""
    reused = sorted(
        str(client_id) for client_id, stored_print in stored.items() if stored_print != sent[client_id]
    )
    if reused:
        raise ClientIdReused(
            "the station holds other check-ins under these client_ids; make a new id for each check-in",
            zh="本派出所已有其他打卡记录使用了这些 client_id，请为每次打卡生成新的 client_id",
            client_ids=reused,
        )


def _rows(
    new: list[CheckinCreate],
    sent: dict[uuid.UUID, str],
    patrol: Patrol,
    volunteer_id: uuid.UUID,
    *,
    checkpoints: dict[str, PatrolCheckpoint],
) -> list[dict[str, Any]]:
    """The new check-ins as rows, each judged now."""
    received_at = utcnow()
    rows = []
    for item in new:
        checkpoint = checkpoints.get(item.code) if item.code is not None else None
        flags, distance = judge(item, checkpoint, patrol, received_at)
        rows.append(
            {
                "id": new_id(), "station_id": patrol.station_id, "patrol_id": patrol.id,
                "volunteer_id": volunteer_id, "client_id": item.client_id,
                "fingerprint": sent[item.client_id],
                "checkpoint_id": checkpoint.id if checkpoint else None, "code": item.code,
                "latitude": item.location.latitude, "longitude": item.location.longitude,
                "accuracy_m": item.accuracy_m, "distance_m": distance, "captured_at": item.captured_at,
                "received_at": received_at, "flags": {str(flag): why for flag, why in flags.items()},
                "review": CheckinReview.PENDING if flags else CheckinReview.NOT_NEEDED,
            }
        )  # fmt: skip
    return rows


async def check_in(
    session: AsyncSession, actor: Actor, patrol_id: uuid.UUID, batch: CheckinBatch
) -> CheckinBatchRead:
    patrol = await patrols.get_patrol(session, actor, patrol_id)
    volunteer_id = await _member_volunteer_id(session, actor, patrol)
    if patrol.status is PatrolStatus.CANCELLED:
        raise PatrolCancelled(
            f"the patrol {patrol.id} was cancelled: it takes no check-ins",
            zh=f"巡防 {patrol.id} 已取消，不能再打卡",
        )
    sent: dict[uuid.UUID, str] = {}
    items: dict[uuid.UUID, CheckinCreate] = {}
    for item in batch.checkins:
        sent_print = fingerprint(patrol.id, volunteer_id, item)
        if sent.setdefault(item.client_id, sent_print) != sent_print:
            raise ClientIdReused(
                "the batch holds two different check-ins under one client_id",
                zh="本批次中有两条不同的打卡记录使用了同一个 client_id",
                client_ids=[str(item.client_id)],
            )
        items[item.client_id] = item
    known = await repository.fingerprints(session, patrol.station_id, list(items))
    _refuse_reuse(known, sent)
    show_code = shows_codes(actor)
    replayed = await repository.by_client_ids(session, patrol.station_id, list(known)) if known else {}
    answers = {key: CheckinRead.of(checkin, show_code=show_code) for key, checkin in replayed.items()}
    new = [item for client_id, item in items.items() if client_id not in known]
    inserted = 0
    if new:
        codes = sorted({item.code for item in new if item.code is not None})
        checkpoints = await repository.checkpoints_with_codes(session, patrol.station_id, codes)
        rows = _rows(new, sent, patrol, volunteer_id, checkpoints=checkpoints)
        stored_now = await repository.insert_new(session, rows)
        inserted = len(stored_now)
        # Answered from the rows as inserted: nothing to read back.
        answers |= {
            row["client_id"]: CheckinRead.of_values(row, show_code=show_code)
            for row in rows
            if row["client_id"] in stored_now
        }
        # The same batch sent at once by another request may have stored some first: each is as stored.
        meanwhile = [client_id for client_id in items if client_id not in answers]
        if meanwhile:
            stored = await repository.by_client_ids(session, patrol.station_id, meanwhile)
            _refuse_reuse({client_id: checkin.fingerprint for client_id, checkin in stored.items()}, sent)
            answers |= {key: CheckinRead.of(checkin, show_code=show_code) for key, checkin in stored.items()}
        if inserted and utcnow() > patrol.planned_end + SHIFT_GRACE:
            # An offline batch arriving after the window closed: a patrol settled already is settled again.
            await queue_resettle(session, patrol.id)
    return CheckinBatchRead(items=[answers[client_id] for client_id in items], stored=inserted)


async def list_checkins(
    reader: Reader, actor: Actor, patrol_id: uuid.UUID, filters: CheckinFilters, page: PageParams
) -> Page[CheckinRead]:
    """A page of the patrol's check-ins (read lean)."""
    await patrols.check_reach(reader, actor, patrol_id)
    checkins = await repository.list_checkins(reader, patrol_id, filters, page)
    return page_of(checkins, page.limit, lambda checkin: read(checkin, actor))


async def review(
    session: AsyncSession,
    actor: Actor,
    patrol_id: uuid.UUID,
    checkin_id: uuid.UUID,
    data: CheckinReviewCreate,
) -> PatrolCheckin:
    """Accept a flagged check-in (it then counts) or reject it; once."""
    patrol = await patrols.get_patrol(session, actor, patrol_id)
    checkin = await repository.get(session, patrol.id, checkin_id, for_update=True)
    if checkin is None:
        raise CheckinNotFound(
            f"no check-in {checkin_id} of the patrol {patrol_id}",
            zh=f"巡防 {patrol_id} 没有打卡记录 {checkin_id}",
        )
    if checkin.review is not CheckinReview.PENDING:
        raise CheckinNotPending(
            f"the check-in is {checkin.review.value}: only a flagged one awaiting review is reviewed",
            zh=f"该打卡记录的审核状态为 {checkin.review.value}，只有被标记、待审核的打卡才能审核",
            review=checkin.review.value,
        )
    accepted = data.decision is ReviewDecision.ACCEPT
    checkin.review = CheckinReview.ACCEPTED if accepted else CheckinReview.REJECTED
    checkin.reviewed_by, checkin.reviewed_at, checkin.review_note = actor.user_id, utcnow(), data.note
    await repository.save(session, checkin)
    await audit.record(
        session, actor, f"patrol_checkin.{data.decision.value}", target_type="patrol_checkin",
        target_id=checkin.id, station_id=checkin.station_id,
        changes={"flags": sorted(checkin.flags), "note": data.note},
    )  # fmt: skip
    if accepted:  # it counts from now on: a patrol settled already is settled again
        await queue_resettle(session, patrol.id)
    return checkin
