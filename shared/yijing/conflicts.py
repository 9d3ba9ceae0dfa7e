"""A unique-constraint clash is the same domain error on every write, update as much as create.

Each domain declares what its constraints mean, next to its errors::

    register({"uq_stations_name": Clash(StationNameTaken, "a station named {name!r} exists already")})

and writes through :func:`add` (a new record) or :func:`changing` (a block that changes a stored one), which
write the record inside a SAVEPOINT (a clash undoes only that write, and the transaction stays usable) and
raise the declared error, naming the record that holds the value where the domain asks. The edges' commit
(:func:`yijing.db.session_scope`) translates a registered clash that only surfaces there with
:func:`clash_error`, so a write that went around them is still its 409, never a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Column, ColumnElement, PrimaryKeyConstraint, Table, UniqueConstraint, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlmodel import SQLModel

from yijing.errors import DomainError

# When the record that broke the constraint is unknown (a clash at the commit), only the error's kind is.
UNNAMED_DETAIL = "another record already has this value"
UNNAMED_DETAIL_ZH = "已有其他记录使用了该值"


@dataclass(frozen=True)
class Clash:
    """What breaking one unique constraint means: ``error``, its ``detail`` formatted with the values being
    written (``{name}``, ``{badge_number}``…) and, when ``holder`` names a problem member, the id of the
    record that already holds the value (in that member, and as ``{holder}`` in the detail). ``zh`` is the
    detail in Chinese, formatted the same way."""

    error: type[DomainError]
    detail: str
    holder: str | None = None
    zh: str = field(kw_only=True)


CLASHES: dict[str, Clash] = {}


def register(clashes: dict[str, Clash]) -> None:
    """Declare what some constraints (by name) mean; a domain calls this once, next to its errors."""
    for name, clash in clashes.items():
        if CLASHES.setdefault(name, clash) != clash:
            raise ValueError(f"the constraint {name} is declared twice, differently")


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint a write broke (asyncpg reports it on the driver's exception)."""
    cause: BaseException | None = error.orig
    while cause is not None:
        name = getattr(cause, "constraint_name", None)
        if name:
            return str(name)
        cause = cause.__cause__
    return None


def referring_table(error: IntegrityError) -> str | None:
    """The table whose rows still refer to a record whose delete the foreign key ``error`` names refused."""
    name = violated_constraint(error)
    for table in SQLModel.metadata.tables.values():
        if any(key.name == name for key in table.foreign_key_constraints):
            return table.name
    return None


@dataclass(frozen=True)
class UniqueKey:
    """A unique constraint or unique index of the schema: its table, columns and (partial index) predicate."""

    table: Table
    columns: tuple[Column[Any], ...]
    where: ColumnElement[bool] | None


@cache
def unique_key(name: str) -> UniqueKey | None:
    """The schema's unique constraint or index of that name (looked up once every table is defined)."""
    for table in SQLModel.metadata.tables.values():
        for constraint in table.constraints:
            if constraint.name == name and isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
                return UniqueKey(table, tuple(constraint.columns), None)
        for index in table.indexes:
            if index.name == name and index.unique:
                columns = tuple(column for column in index.columns if isinstance(column, Column))
                return UniqueKey(table, columns, index.dialect_kwargs.get("postgresql_where"))
    return None


def clash_error(error: IntegrityError) -> DomainError | None:
    """The domain error of a registered clash whose record is unknown (the edges' commit); None otherwise."""
    clash = CLASHES.get(violated_constraint(error) or "")
    return clash.error(UNNAMED_DETAIL, zh=UNNAMED_DETAIL_ZH) if clash else None


@asynccontextmanager
async def changing(session: AsyncSession, record: SQLModel) -> AsyncIterator[None]:
    """Change ``record`` in the block: it is written when the block ends, inside a SAVEPOINT. A registered
    constraint the write breaks becomes its domain error (the SAVEPOINT undone, the transaction usable);
    any other integrity error is raised as it is.

    The SAVEPOINT opens before the changes because opening one first flushes whatever is pending: a change
    made earlier would be written outside it, and its clash would end the whole transaction."""
    state = inspect(record)
    assert not (state.persistent and session.is_modified(record)), "change the record inside the block"
    mapper = state.mapper
    columns = [attribute.key for attribute in mapper.column_attrs]
    values: dict[str, Any] | None = None  # as written: a rolled-back SAVEPOINT expires the record's changes
    try:
        async with session.begin_nested():
            yield
            values = {key: state.dict[key] for key in columns if key in state.dict}
            session.add(record)
            await session.flush()
    except IntegrityError as exc:
        name = violated_constraint(exc) or ""
        clash = CLASHES.get(name)
        if clash is None:
            raise
        key = unique_key(name)
        if values is None or key is None or key.table is not mapper.local_table:  # not this record's write
            raise clash.error(UNNAMED_DETAIL, zh=UNNAMED_DETAIL_ZH) from exc
        extra: dict[str, Any] = {}
        if clash.holder is not None:
            holder = await _holder(session, key, mapper, values)
            extra[clash.holder] = str(holder) if holder else None
            values["holder"] = holder
        raise clash.error(clash.detail.format_map(values), zh=clash.zh.format_map(values), **extra) from exc


async def add(session: AsyncSession, record: SQLModel) -> None:
    """Write a new record inside a SAVEPOINT; a registered clash is its domain error (as :func:`changing`)."""
    async with changing(session, record):
        pass


async def _holder(session: AsyncSession, key: UniqueKey, mapper: Mapper[Any], values: dict[str, Any]) -> Any:
    """The id of the other record that holds the values ``key`` covers."""
    matches = [
        key.table.c[column.name] == values[mapper.get_property_by_column(column).key]
        for column in key.columns
    ]
    query = select(key.table.c.id).where(*matches, key.table.c.id != values["id"])
    return await session.scalar(query if key.where is None else query.where(key.where))
