"""Bulk enrolment from a spreadsheet (CSV or XLSX), on the import kit (``yijing.kit.imports``): the upload is
checked at once and stored sealed (it holds ID-card numbers in clear); the job validates every row, reports
each bad one, and enrols the good ones — all of them or, unless the caller asked for the valid rows, none.
Rows whose person (by ID-card number) the station already has are skipped, so importing the same file
again creates nothing new."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import SYSTEM, Actor, StationScope
from yijing.audit import service as audit
from yijing.errors import InvalidInput
from yijing.ids import station_today
from yijing.jobs.registry import JobContext, JsonDict
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
from yijing.org import repository as org_repository
from yijing.org.errors import StationNotFound
from yijing.personal import PersonalDataProtector, protector_for
from yijing.stats.jobs import queue_recompute
from yijing.uploads import SheetLimits, detect_format, off_loop
from yijing.volunteers import repository
from yijing.volunteers.errors import ImportAlreadyProcessed, ImportNotFound
from yijing.volunteers.models import Gender, VolunteerImport, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import GENDER_LABELS_ZH, SOURCE_LABELS_ZH, STATUS_LABELS_ZH, VolunteerCreate
from yijing.volunteers.service import enrolment_problems, enrolment_row, volunteer_row

MAX_ROWS = 20_000

COLUMNS = (
    ImportColumn("name", "姓名", True, "1–100 个字符"),
    ImportColumn("gender", "性别", True, "男 / 女（male / female）"),
    ImportColumn("phone", "手机号", True, "11 位手机号", as_text=True),
    ImportColumn(
        "id_card_number",
        "身份证号",
        True,
        "18 位；在 Excel 中请将该列设为文本，以免末位被改为 0",
        as_text=True,
        width=22,
    ),
    ImportColumn("site", "站点", True, "站点名称（与系统中一致）", field="site_id"),
    ImportColumn(
        "source", "来源", True, "、".join(f"{label}（{code}）" for code, label in SOURCE_LABELS_ZH.items())
    ),
    ImportColumn("household_name", "摊位/户", False, "所代表的摊位或住户（名称或编号）"),
    ImportColumn("household_address", "地址", False, "摊位或住户地址"),
    ImportColumn("badge_number", "袖标号", False, "字母、数字和连字符；站内唯一", as_text=True),
    ImportColumn("skills", "技能", False, "以、或逗号分隔，如：急救、调解"),
    ImportColumn("joined_on", "加入日期", False, "YYYY-MM-DD；留空为导入当天"),
    ImportColumn("status", "状态", False, "在岗（active，默认）或 申请中（applied）"),
)
SHEET = SheetImport(
    columns=COLUMNS,
    schema=VolunteerCreate,
    max_rows=MAX_ROWS,
    # Lines count blank ones too: room for the template's thousand pre-formatted rows around a full file.
    limits=SheetLimits(rows=2 * MAX_ROWS, columns=64),
    rows_are="volunteers",
    template_title="义警名单",
)

_GENDERS = {label: code for code, label in GENDER_LABELS_ZH.items()} | {code.value: code for code in Gender}
_SOURCES = {label: code for code, label in SOURCE_LABELS_ZH.items()} | {
    code.value: code for code in VolunteerSource
}
_STATUSES = {
    STATUS_LABELS_ZH[VolunteerStatus.ACTIVE]: VolunteerStatus.ACTIVE,
    STATUS_LABELS_ZH[VolunteerStatus.APPLIED]: VolunteerStatus.APPLIED,
    "active": VolunteerStatus.ACTIVE,
    "applied": VolunteerStatus.APPLIED,
}
_SKILL_SEPARATORS = re.compile(r"[、,，;；\s]+")
_SLASHED_DATE = re.compile(r"^([0-9]{4})[/.-]([0-9]{1,2})[/.-]([0-9]{1,2})$")


# Validation


def _normalise_date(text: str) -> str:
    match = _SLASHED_DATE.match(text)
    if match is None:
        return text
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _labelled(
    values: dict[str, str], key: str, choices: dict[str, Any], errors: list[RowError], row: int
) -> Any:
    text = values.get(key)
    if text is None:
        return None
    choice = choices.get(text) or choices.get(text.lower())
    if choice is None:
        errors.append(
            RowError(row, SHEET.label(key), f"{text!r} is not one of: {'、'.join(sorted(choices))}")
        )
    return choice


def validate_row(row: SheetRow, sites: dict[str, uuid.UUID], today: date) -> VolunteerCreate | list[RowError]:
    """The row as API input, or what is wrong with it (every problem, not only the first)."""
    errors: list[RowError] = []
    values = row.values
    data: dict[str, Any] = {
        key: values[key]
        for key in ("name", "phone", "id_card_number", "household_name", "household_address", "badge_number")
        if key in values
    }
    data["gender"] = _labelled(values, "gender", _GENDERS, errors, row.number)
    data["source"] = _labelled(values, "source", _SOURCES, errors, row.number)
    if "status" in values:
        data["status"] = _labelled(values, "status", _STATUSES, errors, row.number)
    if "site" in values:
        site_id = sites.get(values["site"])
        if site_id is None:
            errors.append(
                RowError(row.number, SHEET.label("site"), f"the station has no site named {values['site']!r}")
            )
        data["site_id"] = site_id
    if "skills" in values:
        data["skills"] = [skill for skill in _SKILL_SEPARATORS.split(values["skills"]) if skill]
    if "joined_on" in values:
        data["joined_on"] = _normalise_date(values["joined_on"])
    volunteer = SHEET.validate(row, data, errors)
    if volunteer is not None:
        for problem in enrolment_problems(volunteer.id_card_number, volunteer.joined_on, today):
            column = SHEET.label(problem["field"].removeprefix("body."))
            errors.append(RowError(row.number, column, problem["message"]))
        if not errors:
            return volunteer
    return errors


# Upload


async def accept_upload(
    session: AsyncSession,
    actor: Actor,
    *,
    station_id: uuid.UUID | None,
    file_name: str,
    content: bytes,
    import_valid_rows: bool,
    protector: PersonalDataProtector,
) -> Upload[VolunteerImport]:
    """Check the file's shape now (so a wrong file is a 422 at once) and store it sealed for the job."""
    principal = actor.principal
    station_id = station_id or (principal.station_id if principal else None)
    if station_id is None:
        raise InvalidInput(
            "say which station the volunteers join",
            zh="请指明义警加入哪个派出所",
            errors=[
                {
                    "field": "body.station_id",
                    "message": "required for county accounts",
                    "message_zh": "县局账号必须填写",
                    "code": "missing",
                }
            ],
        )
    if await org_repository.get_station(session, station_id, actor.scope) is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    file_format = detect_format(content)
    rows = await off_loop(SHEET.read, content)
    record = VolunteerImport(
        station_id=station_id,
        file_name=file_name,
        file_format=file_format,
        file_sha256=digest(content),
        content_sealed=protector.seal_bytes(content),
        import_valid_rows=import_valid_rows,
        requested_by=principal.id if principal else None,
    )
    await repository.save(session, record)
    return Upload(record, station_id, noted={"rows": len(rows)})


# Job


async def _sort_out(
    session: AsyncSession,
    station_id: uuid.UUID,
    candidates: list[tuple[int, dict[str, Any]]],
    errors: list[RowError],
) -> tuple[list[dict[str, Any]], int]:
    """Compare valid rows with each other and with the station's volunteers: the ones to enrol, and how many
    the station has already (skipped, so that importing a file twice enrols nobody twice). Clashes are
    added to ``errors``."""
    cards = {row["id_card_fingerprint"] for _, row in candidates}
    badge_numbers = {row["badge_number"] for _, row in candidates if row["badge_number"]}
    existing = await repository.ids_by_id_card(session, station_id, cards)
    badges_taken = await repository.ids_by_badge(session, station_id, badge_numbers)
    row_of_card: dict[str, int] = {}
    row_of_badge: dict[str, int] = {}
    to_enrol: list[dict[str, Any]] = []
    skipped = 0
    for number, row in candidates:
        card, badge = row["id_card_fingerprint"], row["badge_number"]
        if card in row_of_card:
            message = f"the same person as row {row_of_card[card]}"
            errors.append(RowError(number, SHEET.label("id_card_number"), message))
            continue
        row_of_card[card] = number
        if card in existing:
            skipped += 1
            continue
        if badge and badge in badges_taken:
            message = f"badge number {badge} belongs to volunteer {badges_taken[badge]}"
            errors.append(RowError(number, SHEET.label("badge_number"), message))
            continue
        if badge and badge in row_of_badge:
            message = f"badge number {badge} is on row {row_of_badge[badge]} too"
            errors.append(RowError(number, SHEET.label("badge_number"), message))
            continue
        if badge:
            row_of_badge[badge] = number
        to_enrol.append(row)
    return to_enrol, skipped


async def run_import(context: JobContext, payload: ImportPayload) -> JsonDict:
    session = context.session
    record = await repository.get_import(session, payload.import_id, for_update=True)
    if record is None:
        raise ImportNotFound(
            f"no volunteer import {payload.import_id}", zh=f"未找到义警导入记录 {payload.import_id}"
        )
    if record.content_sealed is None:
        raise ImportAlreadyProcessed(
            "this file was processed already; upload it again to re-run it",
            zh="该文件已处理过，如需重新导入请再次上传",
        )
    # One import per station at a time: two files naming the same people in another order would otherwise
    # deadlock on the unique indexes.
    await repository.lock_station_imports(session, record.station_id)
    protector = protector_for(context.settings.personal_data_key)
    rows = await off_loop(SHEET.read, protector.open_bytes(record.content_sealed))
    station = await org_repository.get_station(session, record.station_id, StationScope.everywhere())
    if station is None:
        raise StationNotFound(f"no station {record.station_id}", zh=f"未找到派出所 {record.station_id}")
    sites = {site.name: site.id for site in await org_repository.sites_of(session, station.id)}
    sites |= {str(site_id): site_id for site_id in list(sites.values())}
    today = station_today(station.timezone)

    valid, errors = await validate_rows(
        rows, lambda row: validate_row(row, sites, today), context.report_progress
    )
    candidates = [(number, volunteer_row(data, station.id, today, protector)) for number, data in valid]
    to_enrol, skipped = await _sort_out(session, station.id, candidates, errors)
    errors.sort(key=lambda error: error.row)

    enrol = not errors or record.import_valid_rows
    created: set[uuid.UUID] = set()
    if enrol:
        created = await repository.insert_new(session, to_enrol)
        entries = [
            enrolment_row(row, "import", record.requested_by) for row in to_enrol if row["id"] in created
        ]
        await repository.insert_status_changes(session, entries)
        joined = {row["joined_on"] for row in to_enrol if row["id"] in created}
        await queue_recompute(session, "volunteers_joined", station.id, joined)
    record.content_sealed = None  # the file held ID-card numbers in clear: keep it no longer than needed
    await repository.save(session, record)
    result = report(
        outcome(errors, valid_rows_kept=enrol),
        rows=len(rows),
        errors=errors,
        created=len(created),
        skipped_existing=skipped + (len(to_enrol) - len(created) if enrol else 0),
        invalid_rows=len({error.row for error in errors}),
    )
    await audit.record(
        session,
        SYSTEM,
        "volunteer.import",
        target_type="volunteer_import",
        target_id=record.id,
        station_id=record.station_id,
        changes={key: value for key, value in result.items() if key != "errors"},
    )
    return result
