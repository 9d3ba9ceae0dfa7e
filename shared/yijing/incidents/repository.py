"""Incidents arrive in batches: each batch is copied into a staging table, checked against the stations,
sites and code lists in SQL (a few statements over the whole batch, never a query per record), and merged
into ``incidents`` by source reference: new references in one INSERT, changed ones in one UPDATE."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.conflicts import violated_constraint
from yijing.db import copy_records, driver_of
from yijing.ids import uuid7_sql
from yijing.incidents.models import IncidentCode, IncidentImport
from yijing.kit import repository as kit
from yijing.kit.reads import LeanRow, Reader, mappings

STAGING_COLUMNS = (
    "line", "source_system", "source_ref", "station_id", "site_id", "occurred_at", "class_code", "tags",
)  # fmt: skip
_STAGING_TABLE = (
    "(line integer, source_system text, source_ref text, station_id uuid, site_id uuid, "
    "occurred_at timestamptz, class_code text, tags text[]) ON COMMIT DROP"
)


async def stage(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> str:
    """A temporary table holding the records (in STAGING_COLUMNS order, tags sorted and unique), dropped
    at commit; its name."""
    staging = f"incidents_incoming_{uuid.uuid4().hex}"
    await session.execute(text(f"CREATE TEMPORARY TABLE {staging} {_STAGING_TABLE}"))
    await copy_records(session, staging, STAGING_COLUMNS, records)
    return staging


# The shape of each CSV field, checked in SQL (a bad value in one row must not fail the whole COPY, so
# every column arrives as text): (column, message, the condition a good value meets).
_UUID_TEXT = "'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'"
_INSTANT_TEXT = (
    "'^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    "(:[0-5][0-9](\\.[0-9]{1,6})?)?(Z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)$'"
)
# The day of the month exists (30 February passes the pattern, not this); every month has a 28th.
_DAY_EXISTS = (
    "substr(occurred_at, 9, 2) <= '28' OR substr(occurred_at, 9, 2)::int <= extract(day FROM make_date("
    "substr(occurred_at, 1, 4)::int, substr(occurred_at, 6, 2)::int, 1) + interval '1 month - 1 day')"
)
_SEPARATOR = "[;|,，、[:space:]]"
# Lengths are checked apart: counted repetitions ({0,47}) make PostgreSQL's regular expressions several
# times slower over millions of rows. A tag too long to be a code is refused as an unknown code.
_CODE = "[a-z][a-z0-9_]*"


def _uuid_shape(column: str) -> str:
    """``column`` is a UUID as _UUID_TEXT has it. PostgreSQL builds a pattern's matching states anew for
    each value, so a long pattern costs on every row: the usual 8-4-4-4-12 form is checked with LIKE and
    a one-state pattern (its four '-' where LIKE puts them, hex digits elsewhere), any other form with
    the full pattern."""
    return (
        f"CASE WHEN {column} LIKE '________-____-____-____-____________' "
        f"THEN {column} ~ '^[-0-9a-fA-F]*$' AND length(replace({column}, '-', '')) = 32 "
        f"ELSE coalesce({column}, '') ~ {_UUID_TEXT} END"
    )


_CSV_SHAPES = (
    ("source_system", "lower-case letters, digits, '.', '_' or '-', up to 32",
     "coalesce(source_system, '') ~ '^[a-z0-9][a-z0-9_.-]*$' AND length(source_system) <= 32"),
    ("source_ref", "letters, digits and . _ : / -, up to 64",
     "coalesce(source_ref, '') ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]*$' AND length(source_ref) <= 64"),
    ("station_id", "not a UUID", _uuid_shape("station_id")),
    ("site_id", "not a UUID", f"coalesce(site_id, '') = '' OR {_uuid_shape('site_id')}"),
    ("occurred_at", "not an ISO 8601 date-time with its offset",
     # CASE: PostgreSQL may evaluate AND's operands in any order; the day check needs a well-shaped value.
     f"CASE WHEN coalesce(occurred_at, '') ~ {_INSTANT_TEXT} THEN {_DAY_EXISTS} ELSE FALSE END"),
    ("class_code", "not a code", f"coalesce(class_code, '') ~ '^{_CODE}$' AND length(class_code) <= 48"),
    ("tags", "not codes separated by ';'",
     f"coalesce(tags, '') ~ '^{_SEPARATOR}*({_CODE}({_SEPARATOR}+{_CODE})*)?{_SEPARATOR}*$'"),
)  # fmt: skip
# A well-shaped tags field as a sorted array of distinct codes; a single code (the usual case) is not split.
_TAGS = (
    "CASE WHEN coalesce(tags, '') = '' THEN '{}'::text[] "
    f"WHEN tags !~ '{_SEPARATOR}' THEN ARRAY[tags] "
    f"ELSE ARRAY(SELECT DISTINCT t FROM regexp_split_to_table(tags, '{_SEPARATOR}+') AS t "
    "WHERE t <> '' ORDER BY t) END"
)


async def tune_for_bulk(session: AsyncSession) -> None:
    """No JIT for the rest of the transaction: over a whole file, compiling a statement's expressions
    costs more than it saves (a second and more per statement)."""
    await session.execute(text("SET LOCAL jit = off"))


@dataclass
class StagedFile:
    records: str  # the well-shaped rows, typed (in STAGING_COLUMNS), as a FROM item for ``merge``
    rows: int
    errors: list[dict[str, Any]]  # refused for their shape (the first `limit`)
    refused: int


async def stage_csv(
    session: AsyncSession, columns: Sequence[str], content: bytes, *, limit: int
) -> StagedFile:
    """COPY a CSV file (UTF-8, with a header naming ``columns``) as text, then, in one pass, check every
    field's shape in SQL and type the well-shaped rows. Rows are numbered as a spreadsheet shows them."""
    raw = f"incidents_raw_{uuid.uuid4().hex}"
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE {raw} (line bigint GENERATED ALWAYS AS IDENTITY, source_system text, "
            "source_ref text, station_id text, site_id text, occurred_at text, class_code text, tags text) "
            "ON COMMIT DROP"
        )
    )
    driver = await driver_of(await session.connection())
    # A savepoint of its own (the COPY goes to the driver, around the session): a refused file leaves the
    # transaction usable.
    await driver.execute("SAVEPOINT incidents_copy")
    try:
        await driver.copy_to_table(
            raw, source=io.BytesIO(content), columns=list(columns), format="csv", header=True
        )
        await driver.execute("RELEASE SAVEPOINT incidents_copy")
        problem = None
    except asyncpg.DataError as exc:
        await driver.execute("ROLLBACK TO SAVEPOINT incidents_copy")
        # A row with too many or too few fields, or an unclosed quote: the file is not CSV from there on.
        where = re.search(r"line (\d+)", str(getattr(exc, "context", "") or exc))
        problem = {"row": int(where.group(1)) if where else 0, "column": "", "message": f"not CSV: {exc}"}
    # Every row with the outcome of each check (in _CSV_SHAPES order), typed where all of them pass.
    # OFFSET 0 keeps the checks in their subquery: pulled up, they would run again for every reference.
    staging = f"incidents_incoming_{uuid.uuid4().hex}"
    outcomes = ", ".join(f"coalesce({condition}, FALSE)" for _, _, condition in _CSV_SHAPES)
    well_shaped = "TRUE = ALL(shape)"
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT (line + 1)::integer AS line, shape, {well_shaped} AS well_shaped, source_system, "
            f"source_ref, CASE WHEN {well_shaped} THEN station_id::uuid END AS station_id, "
            f"CASE WHEN {well_shaped} THEN nullif(site_id, '')::uuid END AS site_id, "
            f"CASE WHEN {well_shaped} THEN occurred_at::timestamptz END AS occurred_at, class_code, "
            f"CASE WHEN {well_shaped} THEN {_TAGS} END AS tags "
            f"FROM (SELECT *, ARRAY[{outcomes}] AS shape FROM {raw} OFFSET 0) checked"
        )
    )
    records = f"(SELECT {', '.join(STAGING_COLUMNS)} FROM {staging} WHERE well_shaped)"
    if problem is not None:
        return StagedFile(records, 0, [problem], 1)
    counted = await session.execute(
        text(f"SELECT count(*), count(*) FILTER (WHERE NOT well_shaped) FROM {staging}")
    )
    rows, refused = counted.one()
    # Only the first `limit` problems are fetched: a file of a million malformed rows must not become
    # millions of Python objects in the worker.
    found = await session.execute(
        text(
            f"SELECT s.line, check_number FROM {staging} s, generate_subscripts(s.shape, 1) AS check_number "
            "WHERE NOT s.well_shaped AND NOT s.shape[check_number] ORDER BY 1, 2 LIMIT :limit"
        ),
        {"limit": limit},
    )
    errors = [
        {"row": row, "column": _CSV_SHAPES[number - 1][0], "message": _CSV_SHAPES[number - 1][1]}
        for row, number in found.all()
    ]
    return StagedFile(records, int(rows), errors, int(refused))


# Why a staged record is refused: (column, message, its Chinese, condition), checked in this order.
_PROBLEMS = (
    (
        "station_id",
        "no such station within your reach",
        "您的权限范围内没有该派出所",
        "station_found IS NULL",
    ),
    (
        "site_id",
        "not a site of the station",
        "不是该派出所的站点",
        "site_id IS NOT NULL AND site_found IS NULL",
    ),
    (
        "source_ref",
        "stored already for a station outside your reach",
        "已作为您权限范围以外派出所的警情保存",
        "existing_id IS NOT NULL AND NOT reachable",
    ),
    ("source_ref", "sent twice in this batch", "在本批次中重复提交", "repeated"),
    (
        "class_code",
        "not a class valid on the day it occurred",
        "不是警情发生当天有效的类别代码",
        "NOT class_valid",
    ),
    ("tags", "a tag not valid on the day it occurred", "含有警情发生当天无效的标签", "NOT tags_valid"),
)
# A refusal's message in Chinese, for the field errors of a refused batch.
PROBLEMS_ZH = {message: zh for _, message, zh, _ in _PROBLEMS}


def _checked(records: str, reach: str) -> str:
    """The records with their station's local day, the record stored under their reference, and their
    first problem (its number in _PROBLEMS; NULL: none). Set-based: each check is a hash join against a
    small table (stations, sites, the code lists, the references sent more than once) or the stored
    incidents, never a lookup per record."""
    problem = " ".join(
        f"WHEN {condition} THEN {number}" for number, (_, _, _, condition) in enumerate(_PROBLEMS, start=1)
    )
    return f"""
        WITH codes AS MATERIALIZED (
            -- One row per code: the days any of its versions is valid.
            SELECT kind, code, range_agg(daterange(valid_from, valid_to, '[]')) AS days
            FROM incident_codes GROUP BY kind, code
        ), repeats AS (
            SELECT source_system, source_ref, min(line) AS first_line
            FROM {records} s GROUP BY source_system, source_ref HAVING count(*) > 1
        )
        SELECT line, source_system, source_ref, station_id, site_id, occurred_at, local_day, class_code,
               tags, existing_id, old_station_id, old_day, CASE {problem} END AS problem
        FROM (
            SELECT r.*, si.id AS site_found, e.id AS existing_id, e.station_id AS old_station_id,
                   e.occurred_on AS old_day, {reach.format(column="e.station_id")} AS reachable,
                   coalesce(r.line > rep.first_line, FALSE) AS repeated,
                   coalesce(class.days @> r.local_day, FALSE) AS class_valid,
                   NOT EXISTS (
                       SELECT 1 FROM unnest(r.tags) AS tag
                       LEFT JOIN codes c ON c.kind = 'tag' AND c.code = tag
                       WHERE NOT coalesce(c.days @> r.local_day, FALSE)
                   ) AS tags_valid
            FROM (
                SELECT s.*, (s.occurred_at AT TIME ZONE stn.timezone)::date AS local_day,
                       CASE WHEN {reach.format(column="stn.id")} THEN stn.id END AS station_found
                FROM {records} s LEFT JOIN stations stn ON stn.id = s.station_id
            ) r
            LEFT JOIN sites si ON si.id = r.site_id AND si.station_id = r.station_id
            LEFT JOIN incidents e ON e.source_system = r.source_system AND e.source_ref = r.source_ref
            LEFT JOIN codes class ON class.kind = 'class' AND class.code = r.class_code
            LEFT JOIN repeats rep ON rep.source_system = r.source_system AND rep.source_ref = r.source_ref
        ) checks
    """


def _reach(scope: StationScope) -> str:
    """The condition on a station id ``{column}`` for the stations in reach (bound as ``:reach``)."""
    return "TRUE" if scope.stations is None else "{column} = ANY(CAST(:reach AS uuid[]))"


@dataclass
class Merged:
    errors: list[dict[str, Any]] = field(default_factory=list)  # in row order (the first `limit`)
    refused: int = 0
    received: int = 0
    created: int = 0
    updated: int = 0
    # (station, day) pairs whose counts changed: the new day of each stored record, and the old day of each
    # changed one.
    days: dict[uuid.UUID, set[date]] = field(default_factory=dict)


async def merge(
    session: AsyncSession,
    records: str,
    scope: StationScope,
    *,
    store: bool,
    all_or_nothing: bool,
    now: datetime,
    limit: int | None = None,
) -> Merged:
    """Check the staged records (a table, or ``StagedFile.records``) and, when ``store`` (and,
    ``all_or_nothing``, none is refused), store the valid ones: new references inserted, known ones
    updated when they differ. The errors are the first ``limit`` (None: all)."""
    reach = _reach(scope)
    bound_reach = {"reach": sorted(scope.stations or ())}
    checked = f"incidents_checked_{uuid.uuid4().hex}"
    await session.execute(
        text(f"CREATE TEMPORARY TABLE {checked} ON COMMIT DROP AS {_checked(records, reach)}"), bound_reach
    )
    merged = Merged()
    counted = await session.execute(text(f"SELECT count(*), count(problem) FROM {checked}"))
    merged.received, merged.refused = counted.one()
    if merged.refused:
        found = await session.execute(
            text(f"SELECT line, problem FROM {checked} WHERE problem IS NOT NULL ORDER BY line LIMIT :limit"),
            {"limit": limit},
        )
        for line, number in found.all():
            column, message, _, _ = _PROBLEMS[number - 1]
            merged.errors.append({"row": line, "column": column, "message": message})
    if not store or (merged.refused and all_or_nothing):
        return merged
    params = {"now": now} | bound_reach
    changed: Sequence[Any]
    try:
        async with session.begin_nested():
            changed = [
                *await _insert_new(session, checked, params),
                *await _update_known(session, checked, reach, params),
            ]
    except IntegrityError as exc:
        if violated_constraint(exc) != "uq_incidents_source_system_source_ref":
            raise
        # Another writer stored one of the new references since the checks: merge on the reference instead.
        changed = await _upsert(session, checked, reach, params)
    for station_id, day, created, updated in changed:
        merged.days.setdefault(station_id, set()).add(day)
        merged.created += created
        merged.updated += updated
    return merged


# The columns of ``incidents`` a staged record fills, and the values it fills them with.
_INCIDENT_COLUMNS = (
    "id, station_id, site_id, source_system, source_ref, occurred_at, occurred_on, class_code, tags, "
    "version, received_at, updated_at"
)
_INCIDENT_VALUES = (
    f"{uuid7_sql('line')}, station_id, site_id, source_system, source_ref, occurred_at, local_day, "
    "class_code, tags, 1, :now, :now"
)
# A stored record differs from its staged one (``new``). Tags compared as text[]: staged, they are not
# varchar(48)[] (no equality between the two).
_DIFFERS = (
    "(incidents.station_id, incidents.site_id, incidents.occurred_at, incidents.class_code, "
    "incidents.tags::text[]) IS DISTINCT FROM "
    "({new}.station_id, {new}.site_id, {new}.occurred_at, {new}.class_code, {new}.tags::text[])"
)


async def _insert_new(session: AsyncSession, checked: str, params: dict[str, Any]) -> Sequence[Any]:
    """Insert the valid records of references not stored at the checks: a plain INSERT (ON CONFLICT's
    speculative insertion costs a fifth more per record; a reference stored since then fails it).
    (station, day, created, 0) for each day they fall on."""
    inserted = await session.execute(
        text(
            f"WITH inserted AS (INSERT INTO incidents ({_INCIDENT_COLUMNS}) SELECT {_INCIDENT_VALUES} "
            f"FROM {checked} WHERE problem IS NULL AND existing_id IS NULL "
            "RETURNING station_id, occurred_on) "
            "SELECT station_id, occurred_on, count(*), 0 FROM inserted GROUP BY station_id, occurred_on"
        ),
        params,
    )
    return inserted.all()


async def _update_known(
    session: AsyncSession, checked: str, reach: str, params: dict[str, Any]
) -> Sequence[Any]:
    """Update the stored records that the valid ones change. (station, day, 0, updated) for each new day,
    and (station, day, 0, 0) for each old one."""
    updated = await session.execute(
        text(
            "WITH updated AS (UPDATE incidents SET station_id = new.station_id, site_id = new.site_id, "
            "occurred_at = new.occurred_at, occurred_on = new.local_day, class_code = new.class_code, "
            "tags = new.tags, version = incidents.version + 1, updated_at = :now "
            f"FROM {checked} new WHERE new.existing_id = incidents.id AND new.problem IS NULL "
            # Checked again here: a record another station took over since the checks is left alone.
            f"AND {reach.format(column='incidents.station_id')} AND {_DIFFERS.format(new='new')} "
            "RETURNING incidents.station_id, incidents.occurred_on, new.old_station_id, new.old_day) "
            "SELECT station_id, occurred_on, 0, count(*) FROM updated GROUP BY station_id, occurred_on "
            "UNION ALL SELECT DISTINCT old_station_id, old_day, 0, 0 FROM updated"
        ),
        params,
    )
    return updated.all()


async def _upsert(session: AsyncSession, checked: str, reach: str, params: dict[str, Any]) -> Sequence[Any]:
    """Store every valid record by its reference, whether stored or not (``_insert_new`` and
    ``_update_known`` together, for references stored since the checks): the old days are those of the
    stored versions the statement replaces (its sub-statements all read the table as it was before it)."""
    stored = await session.execute(
        text(
            "WITH before AS ("
            f"SELECT i.id, i.station_id, i.occurred_on FROM incidents i JOIN {checked} r "
            "ON r.source_system = i.source_system AND r.source_ref = i.source_ref WHERE r.problem IS NULL"
            "), stored AS ("
            f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) SELECT {_INCIDENT_VALUES} "
            f"FROM {checked} WHERE problem IS NULL "
            "ON CONFLICT (source_system, source_ref) DO UPDATE SET station_id = excluded.station_id, "
            "site_id = excluded.site_id, occurred_at = excluded.occurred_at, "
            "occurred_on = excluded.occurred_on, "
            "class_code = excluded.class_code, tags = excluded.tags, version = incidents.version + 1, "
            "updated_at = excluded.updated_at "
            f"WHERE {reach.format(column='incidents.station_id')} AND {_DIFFERS.format(new='excluded')} "
            "RETURNING (xmax = 0) AS created, id, station_id, occurred_on) "
            "SELECT station_id, occurred_on, count(*) FILTER (WHERE created), "
            "count(*) FILTER (WHERE NOT created) "
            "FROM stored GROUP BY station_id, occurred_on "
            "UNION ALL "
            "SELECT DISTINCT station_id, occurred_on, 0, 0 FROM before "
            "WHERE id IN (SELECT id FROM stored WHERE NOT created)"
        ),
        params,
    )
    return stored.all()


# Code lists


# What a code's read model shows (CodeRead): the code lists read only these.
CODE_SHOWN = (
    col(IncidentCode.kind), col(IncidentCode.code), col(IncidentCode.version), col(IncidentCode.label_zh),
    col(IncidentCode.label_en), col(IncidentCode.valid_from), col(IncidentCode.valid_to),
)  # fmt: skip
_CODE_SHOWN = select(*CODE_SHOWN)  # built once: a select of many columns costs more to build than to run


async def codes(reader: Reader, kind: str | None = None) -> list[LeanRow]:
    """Every version of the codes (of ``kind``), in code and version order (lean: see
    :func:`yijing.kit.repository.read`)."""
    query = _CODE_SHOWN
    if kind is not None:
        query = query.where(col(IncidentCode.kind) == kind)
    order = (col(IncidentCode.kind), col(IncidentCode.code), col(IncidentCode.version))
    return await mappings(reader, query.order_by(*order))


async def latest_code(
    session: AsyncSession, kind: str, code: str, *, for_update: bool = False
) -> IncidentCode | None:
    query = (
        select(IncidentCode)
        .where(col(IncidentCode.kind) == kind, col(IncidentCode.code) == code)
        .order_by(col(IncidentCode.version).desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


def code_labels(kind: str, first: date, last: date) -> Select[*tuple[Any, ...]]:
    """The codes of ``kind`` with a version valid on some day of [first, last], as rows of a statistics
    table: ``key`` (``class:…``), the newest such version's labels, and the first days of all of them in
    version order (more than one: the code's meaning changed within)."""
    newest_first = col(IncidentCode.version).desc()
    valid = and_(
        col(IncidentCode.valid_from) <= last,
        or_(col(IncidentCode.valid_to).is_(None), col(IncidentCode.valid_to) >= first),
    )
    return (
        select(
            (f"{kind}:" + col(IncidentCode.code)).label("key"),
            func.array_agg(aggregate_order_by(col(IncidentCode.label_zh), newest_first))[1].label("label_zh"),
            func.array_agg(aggregate_order_by(col(IncidentCode.label_en), newest_first))[1].label("label_en"),
            func.array_agg(aggregate_order_by(col(IncidentCode.valid_from), col(IncidentCode.version))).label(
                "valid_from"
            ),
        )
        .where(col(IncidentCode.kind) == kind, valid)
        .group_by(col(IncidentCode.code))
    )


async def add_import(session: AsyncSession, record: IncidentImport) -> None:
    session.add(record)
    await session.flush()


async def get_import(
    session: AsyncSession, import_id: uuid.UUID, *, for_update: bool = False
) -> IncidentImport | None:
    return await kit.get(session, IncidentImport, import_id, for_update=for_update)


# What an upload's read model shows (ImportRead), and its run's id (its ``job``, read next).
IMPORT_SHOWN = (
    col(IncidentImport.id), col(IncidentImport.file_name), col(IncidentImport.file_sha256),
    col(IncidentImport.keep_valid_rows), col(IncidentImport.created_at), col(IncidentImport.job_run_id),
)  # fmt: skip
_IMPORT_SHOWN = select(*IMPORT_SHOWN)  # built once


async def read_import(reader: Reader, import_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    """An upload as its read model shows it, if ``reach`` holds for it (lean: see
    :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _IMPORT_SHOWN.where(reach), IncidentImport.id, import_id)
