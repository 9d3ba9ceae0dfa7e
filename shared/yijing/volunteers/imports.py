"""Bulk enrolment from a spreadsheet (CSV or XLSX). The upload is checked at once (format, header row,
size) and stored sealed; a worker job then validates every row, reports each bad one (row, column,
message), and enrols the good ones — all of them or, unless the caller asked for the valid rows, none.
Rows whose person (by ID-card number) the station already has are skipped, so importing the same file
again creates nothing new."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import SYSTEM, StationScope
from yijing.audit import service as audit
from yijing.errors import DomainError, NotFound
from yijing.ids import station_today
from yijing.jobs.registry import JobContext, JobPayload, JsonDict
from yijing.org import repository as org_repository
from yijing.org.errors import StationNotFound
from yijing.personal import protector_for
from yijing.stats.jobs import queue_recompute
from yijing.uploads import FileFormat, SheetLimits, off_loop, refusal, sheet_rows
from yijing.volunteers import repository
from yijing.volunteers.models import Gender, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import GENDER_LABELS_ZH, SOURCE_LABELS_ZH, STATUS_LABELS_ZH, VolunteerCreate
from yijing.volunteers.service import enrolment_problems, enrolment_row, volunteer_row

MAX_ROWS = 20_000
# Rows validated between two progress reports.
PROGRESS_EVERY = 1_000


@dataclass(frozen=True)
class ImportColumn:
    key: str  # the field of VolunteerCreate it fills (site: by name)
    label: str  # the header the template uses; the key is accepted as a header too
    required: bool
    note: str


COLUMNS = (
    ImportColumn("name", "姓名", True, "1–100 个字符"),
    ImportColumn("gender", "性别", True, "男 / 女（male / female）"),
    ImportColumn("phone", "手机号", True, "11 位手机号"),
    ImportColumn("id_card_number", "身份证号", True, "18 位；在 Excel 中请将该列设为文本，以免末位被改为 0"),
    ImportColumn("site", "站点", True, "站点名称（与系统中一致）"),
    ImportColumn(
        "source", "来源", True, "、".join(f"{label}（{code}）" for code, label in SOURCE_LABELS_ZH.items())
    ),
    ImportColumn("household_name", "摊位/户", False, "所代表的摊位或住户（名称或编号）"),
    ImportColumn("household_address", "地址", False, "摊位或住户地址"),
    ImportColumn("badge_number", "袖标号", False, "字母、数字和连字符；站内唯一"),
    ImportColumn("skills", "技能", False, "以、或逗号分隔，如：急救、调解"),
    ImportColumn("joined_on", "加入日期", False, "YYYY-MM-DD；留空为导入当天"),
    ImportColumn("status", "状态", False, "在岗（active，默认）或 申请中（applied）"),
)
_COLUMN_BY_HEADER = {name: column for column in COLUMNS for name in (column.key, column.label)}
_LABEL = {column.key: column.label for column in COLUMNS}

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


class ImportNotFound(NotFound):
    code = "volunteer_import_not_found"


class ImportAlreadyProcessed(DomainError):
    status = 409
    code = "volunteer_import_processed"


# Reading files

# Bounds for reading one file (see yijing.uploads): lines count blank ones too, so there is room for the
# template's thousand pre-formatted rows around a full file.
SHEET_LIMITS = SheetLimits(rows=2 * MAX_ROWS, columns=64)


@dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet shows it: the header is row 1
    values: dict[str, str]


def read_sheet(content: bytes) -> list[SheetRow]:
    """The data rows (blank ones skipped), keyed by column; a problem with the file as a whole (its
    bounds, its header) raises UploadRefused. CPU work: call it through ``uploads.off_loop``."""
    rows = sheet_rows(content, SHEET_LIMITS)
    header = next(rows, None)
    if header is None:
        raise refusal("the file is empty; start from the template", "empty")
    keys: list[str | None] = []
    for position, name in enumerate(header, start=1):
        if name is None:
            keys.append(None)
            continue
        column = _COLUMN_BY_HEADER.get(name.strip().lower() if name.isascii() else name.strip())
        if column is None:
            raise refusal(f"column {position} has an unknown header {name!r}; use the template", "header")
        if column.key in keys:
            raise refusal(f"the column {name!r} appears twice", "header")
        keys.append(column.key)
    missing = [column.label for column in COLUMNS if column.required and column.key not in keys]
    if missing:
        raise refusal(f"required columns are missing: {'、'.join(missing)}", "header")
    sheet: list[SheetRow] = []
    for number, row in enumerate(rows, start=2):
        values = {key: value for key, value in zip(keys, row, strict=False) if key and value is not None}
        if values:
            sheet.append(SheetRow(number, values))
        if len(sheet) > MAX_ROWS:
            raise refusal(f"the file has more than {MAX_ROWS} rows; split it", "too_many_rows")
    if not sheet:
        raise refusal("the file has a header row but no volunteers", "no_rows")
    return sheet


# Templates


def template(file_format: FileFormat) -> bytes:
    """An empty enrolment file with the header row; the XLSX one explains each column on a second sheet."""
    if file_format is FileFormat.CSV:
        text = io.StringIO()
        csv.writer(text).writerow([column.label for column in COLUMNS])
        return text.getvalue().encode("utf-8-sig")  # the BOM makes Excel read it as UTF-8
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "义警名单"
    sheet.append([column.label for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        sheet.column_dimensions[get_column_letter(index)].width = 22 if column.key == "id_card_number" else 14
        if column.key in ("phone", "id_card_number", "badge_number"):
            for row in range(2, 1002):  # text cells, so Excel keeps every digit
                sheet.cell(row=row, column=index).number_format = "@"
    guide = workbook.create_sheet("填写说明")
    guide.append(["列名", "字段", "必填", "说明"])
    for column in COLUMNS:
        guide.append([column.label, column.key, "是" if column.required else "否", column.note])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# Validation


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_json(self) -> JsonDict:
        return {"row": self.row, "column": self.column, "message": self.message}


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
        errors.append(RowError(row, _LABEL[key], f"{text!r} is not one of: {'、'.join(sorted(choices))}"))
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
                RowError(row.number, _LABEL["site"], f"the station has no site named {values['site']!r}")
            )
        data["site_id"] = site_id
    if "skills" in values:
        data["skills"] = [skill for skill in _SKILL_SEPARATORS.split(values["skills"]) if skill]
    if "joined_on" in values:
        data["joined_on"] = _normalise_date(values["joined_on"])
    try:
        volunteer = VolunteerCreate.model_validate(data)
    except ValidationError as exc:
        reported = {error.column for error in errors}
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            column = _LABEL.get("site" if key == "site_id" else key, key)
            if column not in reported:  # a value already reported (unknown label, unknown site) once only
                errors.append(RowError(row.number, column, error["msg"]))
                reported.add(column)
    else:
        for problem in enrolment_problems(volunteer.id_card_number, volunteer.joined_on, today):
            errors.append(
                RowError(row.number, _LABEL[problem["field"].removeprefix("body.")], problem["message"])
            )
        if not errors:
            return volunteer
    return errors


# Upload and job


class ImportPayload(JobPayload):
    import_id: uuid.UUID


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
            errors.append(
                RowError(number, _LABEL["id_card_number"], f"the same person as row {row_of_card[card]}")
            )
            continue
        row_of_card[card] = number
        if card in existing:
            skipped += 1
            continue
        if badge and badge in badges_taken:
            message = f"badge number {badge} belongs to volunteer {badges_taken[badge]}"
            errors.append(RowError(number, _LABEL["badge_number"], message))
            continue
        if badge and badge in row_of_badge:
            message = f"badge number {badge} is on row {row_of_badge[badge]} too"
            errors.append(RowError(number, _LABEL["badge_number"], message))
            continue
        if badge:
            row_of_badge[badge] = number
        to_enrol.append(row)
    return to_enrol, skipped


async def run_import(context: JobContext, payload: ImportPayload) -> JsonDict:
    session = context.session
    record = await repository.get_import(session, payload.import_id, for_update=True)
    if record is None:
        raise ImportNotFound(f"no volunteer import {payload.import_id}")
    if record.content_sealed is None:
        raise ImportAlreadyProcessed("this file was processed already; upload it again to re-run it")
    # One import per station at a time: two files naming the same people in another order would otherwise
    # deadlock on the unique indexes.
    await repository.lock_station_imports(session, record.station_id)
    protector = protector_for(context.settings.personal_data_key)
    content = protector.open_bytes(record.content_sealed)
    rows = await off_loop(read_sheet, content)
    station = await org_repository.get_station(session, record.station_id, StationScope.everywhere())
    if station is None:
        raise StationNotFound(f"no station {record.station_id}")
    sites = {site.name: site.id for site in await org_repository.sites_of(session, station.id)}
    sites |= {str(site_id): site_id for site_id in list(sites.values())}
    today = station_today(station.timezone)

    errors: list[RowError] = []
    valid: list[tuple[int, VolunteerCreate]] = []
    # Progress counts each row twice: once validated, once written.
    total = 2 * len(rows)
    await context.report_progress(0, total)
    for index, row in enumerate(rows, start=1):
        outcome = validate_row(row, sites, today)
        if isinstance(outcome, list):
            errors.extend(outcome)
        else:
            valid.append((row.number, outcome))
        if index % PROGRESS_EVERY == 0:
            await context.report_progress(index, total)
    await context.report_progress(len(rows), total)

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
    await repository.add(session, record)
    report: JsonDict = {
        "outcome": "imported" if not errors else ("imported_valid_rows" if enrol else "rejected"),
        "rows": len(rows),
        "created": len(created),
        "skipped_existing": skipped + (len(to_enrol) - len(created) if enrol else 0),
        "invalid_rows": len({error.row for error in errors}),
        "errors": [error.as_json() for error in errors],
    }
    await audit.record(
        session,
        SYSTEM,
        "volunteer.import",
        target_type="volunteer_import",
        target_id=record.id,
        station_id=record.station_id,
        changes={key: value for key, value in report.items() if key != "errors"},
    )
    return report
