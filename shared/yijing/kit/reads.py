"""Lean reads: a Core select run on the session's own asyncpg connection, its rows as the driver decodes
them, with no ORM identity map, no SQLAlchemy result processing and no re-validation. For reads whose
thousands of rows go straight into a report or a file: through the ORM each row costs more than the
database takes to find it (10,000 compliance rows: ≈130 ms of result processing on a ≈165 ms query).

The rows are plain dicts of driver values (``uuid.UUID``, ``datetime``, ``str``…), typed by the select's
columns, so a read model that is a ``TypedDict`` takes them as they are. Parameters go to the driver as
given, so only plain values are accepted (no JSON documents, which SQLAlchemy would encode)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVarTuple

import asyncpg
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["mappings"]

Columns = TypeVarTuple("Columns")

# What asyncpg encodes for the column types of this schema as SQLAlchemy would (enums of str are str).
_PLAIN = (str, bool, int, float, Decimal, uuid.UUID, datetime, date, time, timedelta, type(None))


async def mappings(session: AsyncSession, query: Select[*Columns]) -> list[dict[str, Any]]:
    """The rows of ``query``, each a dict keyed by the select's labels. Read on the session's connection:
    inside its transaction once that has begun (so they include what it has written); before that, as a
    statement of its own, which under READ COMMITTED sees the same."""
    connection = await session.connection()
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    given = compiled.construct_params()
    names = compiled.positiontup or []
    for name in names:
        if not isinstance(given[name], _PLAIN):
            kind = type(given[name]).__name__
            raise TypeError(f"parameter {name} is a {kind}: lean reads take plain values")
    adapted = await connection.get_raw_connection()
    driver: asyncpg.Connection = adapted.driver_connection
    records = await driver.fetch(compiled.string, *(given[name] for name in names))
    return [dict(record) for record in records]
