"""Imports of rows from an uploaded file, the one mechanism behind every domain's bulk upload:

1. at upload, the file is read within bounds (``yijing.uploads``) and its header checked, so a wrong file is a
   422 at once; the domain stores it on its import record (sealed when it holds personal data) and
   ``queue_job`` asks for the job that reads it (``ImportPayload``);
2. the job (the domain's handler) validates every row (``validate_rows``, ``SheetImport.validate``), stages
   the good ones with COPY and stores them through its repository, all or nothing unless the uploader asked
   to keep the valid rows, and answers ``report``: an ``Outcome``, counts, and every bad row as
   ``{row, column, message}`` (``RowError``), rows numbered as a spreadsheet shows them (the header is 1).

A domain declares what is its own: its columns (``SheetImport``, or a CSV header of its own), the row schema
they fill, how valid rows are stored and what it counts. The kit holds the rest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor
from yijing.audit import service as audit
from yijing.jobs import service as jobs
from yijing.jobs.models import JobRun
from yijing.jobs.registry import JobPayload, JobSpec, JsonDict
from yijing.uploads import FileFormat, SheetLimits, refusal, sheet_rows

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound="ImportRecord")
T = TypeVar("T")

# Rows validated between two progress reports.
PROGRESS_EVERY = 1_000
# Rows of the XLSX template whose text columns are formatted as text.
TEMPLATE_ROWS = 1_000


class ImportPayload(JobPayload):
    """Every import job's payload: the record holds the file and the uploader's choices."""

    import_id: uuid.UUID


@dataclass(frozen=True)
class RowError:
    """One problem of one row, where the uploader finds it in the file."""

    row: int  # as the spreadsheet shows it: the header is row 1
    column: str
    message: str

    def as_json(self) -> JsonDict:
        return {"row": self.row, "column": self.column, "message": self.message}


# At upload


class ImportRecord(Protocol):
    """What the kit uses of a domain's import record (the table row that holds the file for its job)."""

    id: uuid.UUID
    file_name: str
    file_sha256: str
    job_run_id: uuid.UUID | None


def digest(content: bytes) -> str:
    """The file's SHA-256, as an import record keeps it (the same file uploaded twice is recognisable)."""
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class Upload(Generic[R]):
    """An upload checked and stored, ready for its job."""

    record: R
    # The run's station: its staff read the run. None: county admins only.
    station_id: uuid.UUID | None
    # What the request's audit entry notes beyond the file's name and digest.
    noted: JsonDict = field(default_factory=dict)


async def queue_job(
    session: AsyncSession, actor: Actor, job: JobSpec[ImportPayload], upload: Upload[R], *, subject: str
) -> JobRun:
    """Ask for ``job`` on the stored upload, in the caller's transaction (so no job reads a record that was
    rolled back), link the run to the record and audit the request as ``<subject>.import.request``."""
    record = upload.record
    run = await jobs.request_run(
        session,
        job,
        ImportPayload(import_id=record.id),
        station_id=upload.station_id,
        requested_by=actor.user_id,
    )
    record.job_run_id = run.id
    await session.flush()
    await audit.record(
        session,
        actor,
        f"{subject}.import.request",
        target_type=f"{subject}_import",
        target_id=record.id,
        station_id=upload.station_id,
        changes={"file_name": record.file_name, "file_sha256": record.file_sha256, **upload.noted},
    )
    return run


# Spreadsheets


@dataclass(frozen=True)
class ImportColumn:
    key: str  # the row schema's field it fills (unless ``field`` says otherwise); accepted as a header too
    label: str  # the header the template uses
    required: bool
    note: str  # what the template's guide says goes in it
    field: str | None = None  # the field it fills when that is named otherwise (a site by name: site_id)
    as_text: bool = False  # formatted as text in the XLSX template, so that Excel keeps every digit
    width: int = 14  # in the XLSX template, in characters


@dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet shows it: the header is row 1
    values: dict[str, str]  # by column key; blank cells left out


@dataclass(frozen=True)
class SheetImport(Generic[M]):
    """A domain's spreadsheet (CSV or XLSX) import: its columns, the schema a row fills, its bounds. The kit
    reads and checks files with it, writes its template, and names a schema error's column."""

    columns: tuple[ImportColumn, ...]
    schema: type[M]
    max_rows: int
    limits: SheetLimits  # for reading one file: lines count blank ones too
    rows_are: str  # what a row holds, for the refusal of a file without one ("volunteers")
    template_title: str  # the template's sheet

    @cached_property
    def _by_header(self) -> dict[str, ImportColumn]:
        return {name: column for column in self.columns for name in (column.key, column.label)}

    @cached_property
    def _labels(self) -> dict[str, str]:
        return {name: column.label for column in self.columns for name in (column.key, column.field) if name}

    def label(self, name: str) -> str:
        """The header of the column that fills ``name`` (a column key or a schema field); else ``name``."""
        return self._labels.get(name, name)

    def read(self, content: bytes) -> list[SheetRow]:
        """The data rows (blank ones skipped), keyed by column; a problem with the file as a whole (its
        bounds, its header) raises UploadRefused. CPU work: call it through ``uploads.off_loop``."""
        rows = sheet_rows(content, self.limits)
        header = next(rows, None)
        if header is None:
            raise refusal(
                "the file is empty; start from the template", "empty", zh="文件是空的，请使用模板填写"
            )
        keys: list[str | None] = []
        for position, name in enumerate(header, start=1):
            if name is None:
                keys.append(None)
                continue
            column = self._by_header.get(name.strip().lower() if name.isascii() else name.strip())
            if column is None:
                raise refusal(
                    f"column {position} has an unknown header {name!r}; use the template",
                    "header",
                    zh=f"第 {position} 列的表头“{name}”无法识别，请使用模板",
                )
            if column.key in keys:
                raise refusal(f"the column {name!r} appears twice", "header", zh=f"“{name}”列出现了两次")
            keys.append(column.key)
        missing = [column.label for column in self.columns if column.required and column.key not in keys]
        if missing:
            raise refusal(
                f"required columns are missing: {'、'.join(missing)}",
                "header",
                zh=f"缺少必填列：{'、'.join(missing)}",
            )
        sheet: list[SheetRow] = []
        for number, row in enumerate(rows, start=2):
            values = {key: value for key, value in zip(keys, row, strict=False) if key and value is not None}
            if values:
                sheet.append(SheetRow(number, values))
            if len(sheet) > self.max_rows:
                raise refusal(
                    f"the file has more than {self.max_rows} rows; split it",
                    "too_many_rows",
                    zh=f"文件超过了 {self.max_rows} 行，请拆分后再上传",
                )
        if not sheet:
            raise refusal(
                f"the file has a header row but no {self.rows_are}", "no_rows", zh="文件只有表头，没有数据行"
            )
        return sheet

    def template(self, file_format: FileFormat) -> bytes:
        """An empty file with the header row; the XLSX one explains each column on a second sheet."""
        if file_format is FileFormat.CSV:
            text = io.StringIO()
            csv.writer(text).writerow([column.label for column in self.columns])
            return text.getvalue().encode("utf-8-sig")  # the BOM makes Excel read it as UTF-8
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.title = self.template_title
        sheet.append([column.label for column in self.columns])
        for index, column in enumerate(self.columns, start=1):
            cell = sheet.cell(row=1, column=index)
            cell.font = Font(bold=True, color="C00000" if column.required else "000000")
            sheet.column_dimensions[get_column_letter(index)].width = column.width
            if column.as_text:
                for row in range(2, TEMPLATE_ROWS + 2):
                    sheet.cell(row=row, column=index).number_format = "@"
        guide = workbook.create_sheet("填写说明")
        guide.append(["列名", "字段", "必填", "说明"])
        for column in self.columns:
            guide.append([column.label, column.key, "是" if column.required else "否", column.note])
        output = io.BytesIO()
        workbook.save(output)
        return output.getvalue()

    def validate(self, row: SheetRow, data: Mapping[str, Any], errors: list[RowError]) -> M | None:
        """``data`` (the row's values as the domain converted them) as the schema, or None with what is
        wrong added to ``errors``: one problem per column, none for a column ``errors`` names already (an
        unknown label, say, that the schema then finds missing)."""
        try:
            return self.schema.model_validate(data)
        except ValidationError as exc:
            reported = {error.column for error in errors}
            for error in exc.errors():
                column = self.label(str(error["loc"][0]) if error["loc"] else "")
                if column not in reported:
                    errors.append(RowError(row.number, column, error["msg"]))
                    reported.add(column)
            return None


async def validate_rows(
    rows: Sequence[SheetRow],
    validate: Callable[[SheetRow], T | list[RowError]],
    report_progress: Callable[[int, int | None], Awaitable[None]],
) -> tuple[list[tuple[int, T]], list[RowError]]:
    """Every row through ``validate``: the valid ones with their row numbers, and every row's problems.
    Progress (a job's ``report_progress``) counts each row twice, once validated (here) and once written."""
    valid: list[tuple[int, T]] = []
    errors: list[RowError] = []
    total = 2 * len(rows)
    await report_progress(0, total)
    for index, row in enumerate(rows, start=1):
        outcome = validate(row)
        if isinstance(outcome, list):
            errors.extend(outcome)
        else:
            valid.append((row.number, outcome))
        if index % PROGRESS_EVERY == 0:
            await report_progress(index, total)
    await report_progress(len(rows), total)
    return valid, errors


# The job's result


class Outcome(StrEnum):
    IMPORTED = "imported"  # no row was bad
    IMPORTED_VALID_ROWS = "imported_valid_rows"  # some were; the valid ones were stored, as asked
    REJECTED = "rejected"  # some were; nothing was stored


def outcome(errors: Sequence[RowError], *, valid_rows_kept: bool) -> Outcome:
    if not errors:
        return Outcome.IMPORTED
    return Outcome.IMPORTED_VALID_ROWS if valid_rows_kept else Outcome.REJECTED


def report(result: Outcome, *, rows: int, errors: Sequence[RowError], **counts: int) -> JsonDict:
    """An import job's result: its outcome, the data rows read, the domain's own counts, and the bad rows
    (``errors``, in row order)."""
    return {"outcome": result.value, "rows": rows, **counts, "errors": [error.as_json() for error in errors]}
