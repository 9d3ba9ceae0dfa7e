"""A station's attendance rules, versioned: each version is in force from its ``created_at`` until the next
one, and a session is settled by the version in force when it ended, so a change never reaches back. With
no version stored, the defaults (version 0) hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.access import Actor
from yijing.audit import service as audit
from yijing.ids import utcnow
from yijing.kit import repository as kit
from yijing.kit.reads import LeanRow, Reader, read_model
from yijing.org import repository as org_repository
from yijing.org.errors import StationNotFound
from yijing.org.models import Station
from yijing.training.models import AttendanceRule
from yijing.training.schemas import AttendanceRules, AttendanceRulesUpdate


@dataclass(frozen=True)
class Rule:
    """The numbers a session is settled by, and the version they come from."""

    version: int
    online_present_percent: int
    late_after_minutes: int
    created_at: datetime | None = None  # None: the defaults, in force since always


DEFAULT_RULE = Rule(version=0, online_present_percent=80, late_after_minutes=10)


def _rule(row: AttendanceRule | LeanRow | None) -> Rule:
    if row is None or row.version is None:  # none stored (a lean row of :data:`SHOWN`: all null)
        return DEFAULT_RULE
    return Rule(row.version, row.online_present_percent, row.late_after_minutes, row.created_at)


async def rule_at(session: AsyncSession, station_id: uuid.UUID, instant: datetime) -> Rule:
    """The station's rule in force at ``instant``: the latest version created by then."""
    query = (
        select(AttendanceRule)
        .where(col(AttendanceRule.station_id) == station_id, col(AttendanceRule.created_at) <= instant)
        .order_by(col(AttendanceRule.version).desc())
        .limit(1)
    )
    return _rule((await session.scalars(query)).first())


async def _station_in_reach(session: AsyncSession, actor: Actor, station_id: uuid.UUID) -> Station:
    station = await org_repository.get_station(session, station_id, actor.scope)
    if station is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    return station


def _read(station_id: uuid.UUID, rule: Rule) -> AttendanceRules:
    return read_model(
        AttendanceRules,
        station_id=station_id,
        version=rule.version,
        online_present_percent=rule.online_present_percent,
        late_after_minutes=rule.late_after_minutes,
        created_at=rule.created_at,
    )


# What the rules' read model shows: the station's id and its latest version's columns (all null when it
# has none stored), read in one lean query that finds no row for a station out of the caller's reach.
SHOWN: tuple[Any, ...] = (
    col(Station.id).label("station_id"), col(AttendanceRule.version),
    col(AttendanceRule.online_present_percent), col(AttendanceRule.late_after_minutes),
    col(AttendanceRule.created_at),
)  # fmt: skip
_CURRENT = (
    select(*SHOWN)
    .select_from(Station)
    .outerjoin(AttendanceRule, col(AttendanceRule.station_id) == col(Station.id))
    .order_by(col(AttendanceRule.version).desc())
    .limit(1)
)


async def current_rules(reader: Reader, actor: Actor, station_id: uuid.UUID) -> AttendanceRules:
    """The station's latest version (version 0, the defaults, before any), read lean."""
    row = await kit.read(reader, _CURRENT.where(actor.scope.clause(Station.id)), Station.id, station_id)
    if row is None:
        raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    return _read(row.station_id, _rule(row))


async def set_rules(
    session: AsyncSession, actor: Actor, station_id: uuid.UUID, data: AttendanceRulesUpdate
) -> AttendanceRules:
    """A new version (the latest + 1), in force from now; settled sessions keep theirs."""
    station = await _station_in_reach(session, actor, station_id)
    # Two changes at once would both take the same next version: one waits for the other's commit.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"attendance_rules:{station.id}"},
    )
    latest = await session.scalar(
        select(func.coalesce(func.max(col(AttendanceRule.version)), 0)).where(
            col(AttendanceRule.station_id) == station.id
        )
    )
    row = AttendanceRule(
        station_id=station.id,
        version=(latest or 0) + 1,
        online_present_percent=data.online_present_percent,
        late_after_minutes=data.late_after_minutes,
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    await kit.save(session, row)
    await audit.record(
        session, actor, "training.attendance_rules.update", target_type="station", target_id=station.id,
        station_id=station.id, changes={"version": row.version, **data.model_dump()},
    )  # fmt: skip
    return _read(station.id, _rule(row))
