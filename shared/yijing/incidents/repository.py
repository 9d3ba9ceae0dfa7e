"""Incidents arrive in batches: each batch is copied into a staging table, checked against the stations,
sites and code lists in SQL, and merged into ``incidents`` by source reference in one statement."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import StationScope
from yijing.db import copy_records
from yijing.incidents.models import IncidentCode, IncidentImport
from yijing.kit import repository as kit

STAGING_COLUMNS = (
    "line", "source_system", "source_ref", "station_id", "site_id", "occurred_at", "class_code", "tags",
)  # fmt: skip
_STAGING_TABLE = (
    "(line integer, source_system text, source_ref text, station_id uuid, site_id uuid, "
    "occurred_at timestamptz, class_code text, tags text[]) ON COMMIT DROP"
)
# A time-ordered UUID (version 7) made by PostgreSQL: the milliseconds since 1970, then random bits.
_UUID7 = (
    "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), "
    "52, 1), 53, 1), 'hex')::uuid"
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
# The day of the month exists (30 February passes the pattern, not this).
_DAY_EXISTS = (
    "substr(occurred_at, 9, 2)::int <= extract(day FROM make_date(substr(occurred_at, 1, 4)::int, "
    "substr(occurred_at, 6, 2)::int, 1) + interval '1 month - 1 day')"
)
_SEPARATOR = "[;|,，、[:space:]]"
# Lengths are checked apart: counted repetitions ({0,47}) make PostgreSQL's regular expressions several
# times slower over millions of rows. A tag too long to be a code is refused as an unknown code.
_CODE = "[a-z][a-z0-9_]*"
_SPLIT_TAGS = f"regexp_split_to_table(tags, '{_SEPARATOR}+')"
_CSV_SHAPES = (
    ("source_system", "lower-case letters, digits, '.', '_' or '-', up to 32",
     "coalesce(source_system, '') ~ '^[a-z0-9][a-z0-9_.-]*$' AND length(source_system) <= 32"),
    ("source_ref", "letters, digits and . _ : / -, up to 64",
     "coalesce(source_ref, '') ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]*$' AND length(source_ref) <= 64"),
    ("station_id", "not a UUID", f"coalesce(station_id, '') ~ {_UUID_TEXT}"),
    ("site_id", "not a UUID", f"coalesce(site_id, '') = '' OR site_id ~ {_UUID_TEXT}"),
    ("occurred_at", "not an ISO 8601 date-time with its offset",
     # CASE: PostgreSQL may evaluate AND's operands in any order; the day check needs a well-shaped value.
     f"CASE WHEN coalesce(occurred_at, '') ~ {_INSTANT_TEXT} THEN {_DAY_EXISTS} ELSE FALSE END"),
    ("class_code", "not a code", f"coalesce(class_code, '') ~ '^{_CODE}$' AND length(class_code) <= 48"),
    ("tags", "not codes separated by ';'",
     f"coalesce(tags, '') ~ '^{_SEPARATOR}*({_CODE}({_SEPARATOR}+{_CODE})*)?{_SEPARATOR}*$'"),
)  # fmt: skip


@dataclass
class StagedFile:
    staging: str
    rows: int
    errors: list[dict[str, Any]]  # refused for their shape (the first `limit`)
    refused: int


async def stage_csv(
    session: AsyncSession, columns: Sequence[str], content: bytes, *, limit: int
) -> StagedFile:
    """COPY a CSV file (UTF-8, with a header naming ``columns``) as text, check every field's shape in SQL
    and stage the well-shaped rows as typed records. Rows are numbered as a spreadsheet shows them."""
    raw = f"incidents_raw_{uuid.uuid4().hex}"
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE {raw} (line bigint GENERATED ALWAYS AS IDENTITY, source_system text, "
            "source_ref text, station_id text, site_id text, occurred_at text, class_code text, tags text) "
            "ON COMMIT DROP"
        )
    )
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    # A savepoint of its own (the COPY goes to the driver, around the session): a refused file leaves the
    # transaction usable.
    await driver.execute("SAVEPOINT incidents_copy")
    try:
        await driver.copy_to_table(
            raw, source=io.BytesIO(content), columns=list(columns), format="csv", header=True
        )
        await driver.execute("RELEASE SAVEPOINT incidents_copy")
    except asyncpg.DataError as exc:
        await driver.execute("ROLLBACK TO SAVEPOINT incidents_copy")
        # A row with too many or too few fields, or an unclosed quote: the file is not CSV from there on.
        where = re.search(r"line (\d+)", str(getattr(exc, "context", "") or exc))
        problem = {"row": int(where.group(1)) if where else 0, "column": "", "message": f"not CSV: {exc}"}
        staging = f"incidents_incoming_{uuid.uuid4().hex}"
        await session.execute(text(f"CREATE TEMPORARY TABLE {staging} {_STAGING_TABLE}"))
        return StagedFile(staging, 0, [problem], 1)
    # One pass over the text: every check's outcome per row, in _CSV_SHAPES order.
    shaped = f"incidents_shaped_{uuid.uuid4().hex}"
    outcomes = ", ".join(f"coalesce({condition}, FALSE)" for _, _, condition in _CSV_SHAPES)
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE {shaped} ON COMMIT DROP AS SELECT *, ARRAY[{outcomes}] AS ok FROM {raw}"
        )
    )
    # Only the first `limit` problems are fetched: a file of a million malformed rows must not become
    # millions of Python objects in the worker.
    found = await session.execute(
        text(
            f"SELECT line + 1, check_number FROM {shaped}, generate_subscripts(ok, 1) AS check_number "
            "WHERE NOT ok[check_number] ORDER BY 1, 2 LIMIT :limit"
        ),
        {"limit": limit},
    )
    problems = [(row, _CSV_SHAPES[number - 1]) for row, number in found.all()]
    refused = await session.execute(text(f"SELECT count(*) FROM {shaped} WHERE NOT (TRUE = ALL(ok))"))
    staging = f"incidents_incoming_{uuid.uuid4().hex}"
    await session.execute(
        text(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            "SELECT (line + 1)::integer AS line, source_system, source_ref, station_id::uuid AS station_id, "
            "nullif(site_id, '')::uuid AS site_id, occurred_at::timestamptz AS occurred_at, class_code, "
            "CASE WHEN coalesce(tags, '') = '' THEN '{}'::text[] ELSE "
            f"ARRAY(SELECT DISTINCT t FROM {_SPLIT_TAGS} AS t WHERE t <> '' ORDER BY t) END AS tags "
            f"FROM {shaped} WHERE TRUE = ALL(ok)"
        )
    )
    rows = int((await session.execute(text(f"SELECT count(*) FROM {raw}"))).scalar_one())
    errors = [{"row": row, "column": column, "message": message} for row, (column, message, _) in problems]
    return StagedFile(staging, rows, errors, int(refused.scalar_one()))


# Why a staged record is refused: (column, message, its Chinese, condition), checked in this order.
_PROBLEMS = (
    (
        "station_id",
        "no such station within your reach",
        "您的权限范围内没有该派出所",
        "r.station_found IS NULL",
    ),
    (
        "site_id",
        "not a site of the station",
        "不是该派出所的站点",
        "r.site_id IS NOT NULL AND r.site_found IS NULL",
    ),
    (
        "source_ref",
        "stored already for a station outside your reach",
        "已作为您权限范围以外派出所的警情保存",
        "r.existing_id IS NOT NULL AND NOT r.reachable",
    ),
    ("source_ref", "sent twice in this batch", "在本批次中重复提交", "r.repeat > 1"),
    (
        "class_code",
        "not a class valid on the day it occurred",
        "不是警情发生当天有效的类别代码",
        "NOT r.class_valid",
    ),
    ("tags", "a tag not valid on the day it occurred", "含有警情发生当天无效的标签", "NOT r.tags_valid"),
)
# A refusal's message in Chinese, for the field errors of a refused batch.
PROBLEMS_ZH = {message: zh for _, message, zh, _ in _PROBLEMS}


def _valid_code(kind: str, code: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM incident_codes c WHERE c.kind = '{kind}' AND c.code = {code} "
        "AND c.valid_from <= local_day AND (c.valid_to IS NULL OR c.valid_to >= local_day))"
    )


def _checked(staging: str, reach: str) -> str:
    """The staged records with their station's local day and every check's outcome."""
    return f"""
        SELECT r.*, v.class_valid, v.tags_valid, st.id AS station_found, si.id AS site_found,
               e.id AS existing_id, e.reachable, e.occurred_on AS old_day, e.old_station_id
        FROM (
            SELECT s.*, (s.occurred_at AT TIME ZONE stn.timezone)::date AS local_day,
                   row_number() OVER (PARTITION BY s.source_system, s.source_ref ORDER BY s.line) AS repeat
            FROM {staging} s LEFT JOIN stations stn ON stn.id = s.station_id
        ) r
        LEFT JOIN stations st ON st.id = r.station_id AND {reach.format(column="st.id")}
        LEFT JOIN sites si ON si.id = r.site_id AND si.station_id = r.station_id
        LEFT JOIN LATERAL (
            SELECT i.id, i.occurred_on, i.station_id AS old_station_id,
                   {reach.format(column="i.station_id")} AS reachable
            FROM incidents i WHERE i.source_system = r.source_system AND i.source_ref = r.source_ref
        ) e ON TRUE
        CROSS JOIN LATERAL (
            SELECT {_valid_code("class", "r.class_code")} AS class_valid,
                   NOT EXISTS (
                       SELECT 1 FROM unnest(r.tags) AS tag WHERE NOT {_valid_code("tag", "tag")}
                   ) AS tags_valid
        ) v
    """


def _reach(scope: StationScope) -> str:
    """The condition on a station id ``{column}`` for the stations in reach (bound as ``:reach``)."""
    return "TRUE" if scope.stations is None else "{column} = ANY(CAST(:reach AS uuid[]))"


@dataclass
class Merged:
    errors: list[dict[str, Any]] = field(default_factory=list)
    received: int = 0
    created: int = 0
    updated: int = 0
    # (station, day) pairs whose counts changed: the new day of each stored record, and the old day of each
    # changed one.
    days: dict[uuid.UUID, set[date]] = field(default_factory=dict)


async def merge(
    session: AsyncSession,
    staging: str,
    scope: StationScope,
    *,
    store: bool,
    all_or_nothing: bool,
    now: datetime,
) -> Merged:
    """Check the staged records and, when ``store`` (and, ``all_or_nothing``, none is refused), store the
    valid ones: new references inserted, known ones updated when they differ."""
    reach = _reach(scope)
    checked = f"incidents_checked_{uuid.uuid4().hex}"
    await session.execute(
        text(f"CREATE TEMPORARY TABLE {checked} ON COMMIT DROP AS {_checked(staging, reach)}"),
        {"reach": sorted(scope.stations or ())},
    )
    problem = " ".join(
        f"WHEN {condition} THEN '{column}|{message}'" for column, message, _, condition in _PROBLEMS
    )
    rows = await session.execute(
        text(
            f"SELECT line, problem FROM (SELECT line, CASE {problem} END AS problem FROM {checked} r) p "
            "WHERE problem IS NOT NULL ORDER BY line"
        )
    )
    merged = Merged()
    for line, found in rows.all():
        column, message = found.split("|", 1)
        merged.errors.append({"row": line, "column": column, "message": message})
    merged.received = int((await session.execute(text(f"SELECT count(*) FROM {checked}"))).scalar_one())
    if not store or (merged.errors and all_or_nothing):
        return merged
    refused = " OR ".join(f"({condition})" for _, _, _, condition in _PROBLEMS)
    # What changed, per station and day (not per record: a file may hold millions): the new day of every
    # record stored, and the old day of every record updated.
    stored = await session.execute(
        text(
            "WITH stored AS ("
            "INSERT INTO incidents (id, station_id, site_id, source_system, source_ref, occurred_at, "
            "occurred_on, class_code, tags, version, received_at, updated_at) "
            f"SELECT {_UUID7}, station_id, site_id, source_system, source_ref, occurred_at, local_day, "
            "class_code, tags, 1, :now, :now "
            f"FROM {checked} r WHERE NOT ({refused}) "
            "ON CONFLICT (source_system, source_ref) DO UPDATE SET station_id = excluded.station_id, "
            "site_id = excluded.site_id, occurred_at = excluded.occurred_at, "
            "occurred_on = excluded.occurred_on, "
            "class_code = excluded.class_code, tags = excluded.tags, version = incidents.version + 1, "
            "updated_at = excluded.updated_at "
            # Checked again here: a record another station stored since the checks is never taken over.
            f"WHERE {reach.format(column='incidents.station_id')} "
            "AND (incidents.station_id, incidents.site_id, incidents.occurred_at, incidents.class_code, "
            "incidents.tags) IS DISTINCT FROM (excluded.station_id, excluded.site_id, excluded.occurred_at, "
            "excluded.class_code, excluded.tags) "
            "RETURNING (xmax = 0) AS created, station_id, occurred_on, source_system, source_ref) "
            "SELECT station_id, occurred_on, count(*) FILTER (WHERE created), "
            "count(*) FILTER (WHERE NOT created) "
            "FROM stored GROUP BY station_id, occurred_on "
            "UNION ALL "
            "SELECT DISTINCT r.old_station_id, r.old_day, 0, 0 FROM stored s "
            f"JOIN {checked} r ON r.source_system = s.source_system AND r.source_ref = s.source_ref "
            "WHERE NOT s.created"
        ),
        {"now": now, "reach": sorted(scope.stations or ())},
    )
    for station_id, day, created, updated in stored.all():
        merged.days.setdefault(station_id, set()).add(day)
        merged.created += created
        merged.updated += updated
    return merged


# Code lists


async def codes(session: AsyncSession, kind: str | None = None) -> Sequence[IncidentCode]:
    query = select(IncidentCode)
    if kind is not None:
        query = query.where(col(IncidentCode.kind) == kind)
    order = (col(IncidentCode.kind), col(IncidentCode.code), col(IncidentCode.version))
    return (await session.scalars(query.order_by(*order))).all()


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


async def add_import(session: AsyncSession, record: IncidentImport) -> None:
    session.add(record)
    await session.flush()


async def get_import(
    session: AsyncSession, import_id: uuid.UUID, *, for_update: bool = False
) -> IncidentImport | None:
    return await kit.get(session, IncidentImport, import_id, for_update=for_update)
