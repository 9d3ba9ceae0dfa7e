"""CSV files of incidents, on the import kit (``yijing.kit.imports``): the header checked at upload; the rows
COPYed as text, every field's shape checked in SQL (a bad date in one row must not fail the whole file),
then checked against stations, sites and code lists and merged like a JSON batch."""

from __future__ import annotations

import csv
import re
import unicodedata
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor, StationScope
from yijing.incidents import repository, service
from yijing.incidents.models import IncidentImport
from yijing.jobs.registry import JobContext, JsonDict
from yijing.kit.imports import ImportPayload, Outcome, RowError, Upload, digest, outcome, report
from yijing.uploads import decode_text, off_loop, refusal

REQUIRED = ("source_system", "source_ref", "station_id", "occurred_at", "class_code")
OPTIONAL = ("site_id", "tags")
MAX_ERRORS = 1000


def _shown(name: str) -> str:
    """A column name as an error message may quote it: no control or unassigned characters, not too long."""
    return "".join(char for char in name if not unicodedata.category(char).startswith("C"))[:40] or "(blank)"


# A line as ``io.StringIO(text, newline="")`` reads it (ended by \r\n, \r or \n): the header is read from
# the first lines alone, not from a copy of the whole text (over a second, and four bytes a character, for
# a file of millions of rows).
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+$")


def read_csv(content: bytes) -> tuple[list[str], str]:
    """The file's columns and its text (decoded once), or a 422 naming what is wrong with them. CPU work on
    up to the body limit: call it through ``uploads.off_loop``."""
    text = decode_text(content)
    lines = (line.group() for line in _LINE.finditer(text))
    try:
        header = [name.strip() for name in next(csv.reader(lines), [])]
    except csv.Error as exc:
        raise refusal(
            f"the file is not a CSV with a header line: {exc}",
            "not_csv",
            zh="该文件不是带表头行的 CSV 文件",
        ) from exc
    missing = [name for name in REQUIRED if name not in header]
    unknown = [_shown(name) for name in header if name not in REQUIRED + OPTIONAL]
    repeated = sorted({name for name in header if header.count(name) > 1} - set(unknown))
    if missing or unknown or repeated:
        found = (
            (missing, "missing", "缺少"),
            (unknown, "unknown", "无法识别"),
            (repeated, "repeated", "重复"),
        )
        problems = [f"{label}: {', '.join(names)}" for names, label, _ in found if names]
        problems_zh = [f"{label}：{'、'.join(names)}" for names, _, label in found if names]
        raise refusal(
            f"the CSV header is not the expected one ({'; '.join(problems)}); expected columns: "
            f"{', '.join(REQUIRED + OPTIONAL)}",
            "columns",
            zh=f"CSV 表头与要求不符（{'；'.join(problems_zh)}）；应有的列：{'、'.join(REQUIRED + OPTIONAL)}",
        )
    return header, text


async def accept_upload(
    session: AsyncSession, actor: Actor, *, file_name: str, content: bytes, keep_valid_rows: bool
) -> Upload[IncidentImport]:
    """Check the header now (a wrong file is a 422 at once) and store the file for the job, with the
    stations the uploader reaches (the job stores rows of those only)."""
    await off_loop(read_csv, content)
    stations = actor.scope.stations
    record = IncidentImport(
        station_ids=None if stations is None else sorted(str(station) for station in stations),
        keep_valid_rows=keep_valid_rows,
        file_name=file_name,
        file_sha256=digest(content),
        content=content,
        requested_by=actor.principal.id if actor.principal else None,
    )
    await repository.add_import(session, record)
    # A run of one station's uploader is that station's (its staff see it); others are the county's.
    only_station = next(iter(stations)) if stations is not None and len(stations) == 1 else None
    return Upload(record, only_station)


async def run_import(context: JobContext, payload: ImportPayload) -> JsonDict:
    """Read the file, store its rows (all or nothing, unless the uploader asked to keep the valid rows) within
    the uploader's reach, and drop the file. The outcome: ``imported``, ``rejected`` or
    ``imported_valid_rows``, with counts and the bad rows (``row``, ``column``, ``message``)."""
    session = context.session
    record = await repository.get_import(session, payload.import_id, for_update=True)
    if record is None or record.content is None:
        return {"outcome": "gone", "detail": "this upload was processed already"}
    columns, text = await off_loop(read_csv, record.content)
    await repository.tune_for_bulk(session)
    staged = await repository.stage_csv(session, columns, text.encode(), limit=MAX_ERRORS)
    reach = StationScope(
        None
        if record.station_ids is None
        else frozenset(uuid.UUID(station) for station in record.station_ids)
    )
    merged = await service.store_staged(
        session,
        reach,
        staged.records,
        all_or_nothing=not record.keep_valid_rows,
        refused_before=staged.refused > 0,
        error_limit=MAX_ERRORS,
    )
    # A row is refused either for its shape or after (one problem then): the first of both lists.
    errors = sorted(
        (RowError(**error) for error in staged.errors + merged.errors), key=lambda error: error.row
    )[:MAX_ERRORS]
    refused_rows = staged.refused + merged.refused
    stored = merged.created + merged.updated
    result = outcome(errors, valid_rows_kept=record.keep_valid_rows and staged.rows > refused_rows)
    record.content = None  # read: the file is not kept
    return report(
        result,
        rows=staged.rows,
        errors=errors,
        created=merged.created,
        updated=merged.updated,
        unchanged=0 if result is Outcome.REJECTED else max(0, staged.rows - refused_rows - stored),
        refused_rows=refused_rows,
    )
