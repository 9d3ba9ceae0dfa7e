"""A meeting platform's attendance export (Tencent Meeting, DingTalk…) for one online or hybrid training, on
the import kit (``yijing.kit.imports``): the file is checked at upload and stored sealed (it holds mobile
numbers); the job finds each row's volunteer by mobile number (its fingerprint) or badge number, adds up
the minutes of someone who joined more than once, stores the minutes of the enrolled and reports every
other row as ``{row, column, message}``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import SYSTEM, Actor
from yijing.audit import service as audit
from yijing.ids import utcnow
from yijing.jobs.registry import JobContext, JsonDict
from yijing.kit import repository as kit
from yijing.kit.imports import (
    ImportColumn,
    ImportPayload,
    RowError,
    SheetImport,
    SheetRow,
    Upload,
    digest,
    outcome,
    report,
    validate_rows,
)
from yijing.personal import MobileNumber, PersonalDataProtector, protector_for
from yijing.training import repository, service
from yijing.training.errors import TrainingNotOpen
from yijing.training.models import (
    OnlineAttendanceImport,
    Training,
    TrainingMode,
    TrainingStatus,
)
from yijing.training.schemas import Minutes
from yijing.uploads import SheetLimits, detect_format, off_loop
from yijing.volunteers.models import Volunteer
from yijing.volunteers.schemas import BadgeNumber

# A station's export of one session: far more rows than any audience has.
MAX_ROWS = 10_000

COLUMNS = (
    ImportColumn("phone", "手机号", False, "11 位手机号，与义警登记的一致；无手机号时填袖标号", as_text=True),
    ImportColumn("badge_number", "袖标号", False, "无手机号时填写", as_text=True),
    ImportColumn("minutes", "参会时长（分钟）", True, "整数分钟；同一人多次入会可分多行，时长相加", width=18),
)


class OnlineAttendanceRow(BaseModel):
    """One row of the export: who (by mobile or badge number) and how many minutes."""

    phone: MobileNumber | None = None
    badge_number: BadgeNumber | None = None
    minutes: Minutes


SHEET = SheetImport(
    columns=COLUMNS,
    schema=OnlineAttendanceRow,
    max_rows=MAX_ROWS,
    limits=SheetLimits(rows=2 * MAX_ROWS, columns=16),
    rows_are="attendees",
    template_title="线上参训时长",
)
# Whole minutes, also as a number cell Excel wrote as 45.0.
_WHOLE_MINUTES = re.compile(r"^([0-9]{1,5})(\.0+)?$")


def validate_row(row: SheetRow) -> OnlineAttendanceRow | list[RowError]:
    """The row's values, or what is wrong with its shape (who it names is checked against the station)."""
    errors: list[RowError] = []
    values = row.values
    if "phone" not in values and "badge_number" not in values:
        errors.append(
            RowError(row.number, SHEET.label("phone"), "give the mobile number or the badge number")
        )
    data: dict[str, Any] = dict(values)
    if "minutes" in values:
        whole = _WHOLE_MINUTES.match(values["minutes"])
        if whole is None:
            errors.append(RowError(row.number, SHEET.label("minutes"), "is not a whole number of minutes"))
        data["minutes"] = int(whole.group(1)) if whole else None
    parsed = SHEET.validate(row, data, errors)
    return parsed if parsed is not None and not errors else errors


# Upload


async def _open_training(
    session: AsyncSession, actor: Actor, training_id: uuid.UUID, *, for_update: bool = False
) -> Training:
    training = await service.get_training(session, actor, training_id, for_update=for_update)
    if training.mode is TrainingMode.OFFLINE:
        raise TrainingNotOpen(
            "an offline training takes check-ins, not online minutes", zh="线下培训只记录签到，不记录在线时长"
        )
    if training.status is not TrainingStatus.SCHEDULED or training.starts_at > utcnow():
        raise TrainingNotOpen(
            "online minutes are taken from the session's start until it is settled",
            zh="在线时长只能在培训开始后、出勤认定前录入",
        )
    return training


async def accept_upload(
    session: AsyncSession,
    actor: Actor,
    *,
    training_id: uuid.UUID,
    file_name: str,
    content: bytes,
    protector: PersonalDataProtector,
) -> Upload[OnlineAttendanceImport]:
    """Check the training and the file's shape now (a wrong file is a 422 at once) and store it sealed."""
    training = await _open_training(session, actor, training_id)
    file_format = detect_format(content)
    rows = await off_loop(SHEET.read, content)
    record = OnlineAttendanceImport(
        training_id=training.id,
        file_name=file_name,
        file_format=file_format,
        file_sha256=digest(content),
        content=protector.seal_bytes(content),
        requested_by=actor.user_id,
    )
    await kit.save(session, record)
    return Upload(record, training.station_id, noted={"training_id": str(training.id), "rows": len(rows)})


# Job


async def _volunteers_by(
    session: AsyncSession, station_id: uuid.UUID, key: Any, wanted: Iterable[str]
) -> dict[str, list[uuid.UUID]]:
    """The station's volunteers whose ``key`` column is among ``wanted``: a mobile number may be shared."""
    query = select(key, col(Volunteer.id)).where(
        col(Volunteer.station_id) == station_id, key.in_(set(wanted))
    )
    found: dict[str, list[uuid.UUID]] = {}
    for value, volunteer_id in (await session.execute(query)).all():
        found.setdefault(value, []).append(volunteer_id)
    return found


async def run_import(context: JobContext, payload: ImportPayload) -> JsonDict:
    """Store the minutes of every row that names an enrolled volunteer, within the session's length, and
    report the others; the file is dropped once read. Sent again, the minutes are replaced."""
    session = context.session
    record = await kit.get(session, OnlineAttendanceImport, payload.import_id, for_update=True)
    if record is None or record.content is None:
        return {"outcome": "gone", "detail": "this upload was processed already"}
    # Locked: the settle job skips it until the minutes are in.
    training = await _open_training(session, SYSTEM, record.training_id, for_update=True)
    protector = protector_for(context.settings.personal_data_key)
    rows = await off_loop(SHEET.read, protector.open_bytes(record.content))
    valid, errors = await validate_rows(rows, validate_row, context.report_progress)

    phones = {protector.fingerprint(row.phone) for _, row in valid if row.phone}
    badges = {row.badge_number for _, row in valid if row.badge_number and not row.phone}
    by_phone = await _volunteers_by(session, training.station_id, col(Volunteer.phone_fingerprint), phones)
    by_badge = await _volunteers_by(session, training.station_id, col(Volunteer.badge_number), badges)
    enrolled = await repository.enrolled_volunteers(session, training.id)
    longest = service.session_minutes(training)
    minutes: dict[uuid.UUID, int] = {}
    for number, row in valid:
        if row.phone:
            label, found = SHEET.label("phone"), by_phone.get(protector.fingerprint(row.phone), [])
        else:
            label, found = SHEET.label("badge_number"), by_badge.get(row.badge_number or "", [])
        ours = [volunteer_id for volunteer_id in found if volunteer_id in enrolled]
        if not found:
            errors.append(RowError(number, label, "no volunteer of the station has this number"))
        elif not ours:
            errors.append(RowError(number, label, "the volunteer is not enrolled in this training"))
        elif len(ours) > 1:
            errors.append(
                RowError(number, label, "several enrolled volunteers share this number; use the badge")
            )
        elif minutes.get(ours[0], 0) + row.minutes > longest:
            message = f"more minutes than the session's {longest}"
            errors.append(RowError(number, SHEET.label("minutes"), message))
        else:
            minutes[ours[0]] = minutes.get(ours[0], 0) + row.minutes
    errors.sort(key=lambda error: error.row)
    stored = await service.set_online_minutes(session, training, minutes)
    await context.report_progress(2 * len(rows), 2 * len(rows))
    record.content = None  # it held mobile numbers in clear: keep it no longer than needed
    await kit.save(session, record)
    result = report(
        outcome(errors, valid_rows_kept=True),  # the good rows are stored whatever the bad ones
        rows=len(rows),
        errors=errors,
        volunteers=stored,
        invalid_rows=len({error.row for error in errors}),
    )
    await audit.record(
        session, SYSTEM, "training.online_attendance.import", target_type="training", target_id=training.id,
        station_id=training.station_id, changes={key: result[key] for key in result if key != "errors"},
    )  # fmt: skip
    return result
