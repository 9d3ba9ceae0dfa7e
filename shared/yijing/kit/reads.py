"""Lean reads: a Core select run on the asyncpg connection of a session or of a bare pooled connection
(``yijing.db.read_connection``), its rows as the driver decodes
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
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import LRUCache

from yijing.db import driver_of

__all__ = ["LeanRow", "Reader", "by_value", "mappings", "read_model"]

COMPILED_SHAPES = 1000

# What a lean read runs on: a session (inside its transaction, once that has begun), or a connection of its
# own (a read that needs nothing else of the ORM: ``yijing.db.read_connection``).
Reader = AsyncSession | AsyncConnection

Columns = TypeVarTuple("Columns")

# What asyncpg encodes for the column types of this schema as SQLAlchemy would (enums of str are str).
_PLAIN = (str, bool, int, float, Decimal, uuid.UUID, datetime, date, time, timedelta, type(None))


class LeanRow(dict[str, Any]):
    """A row as the driver decoded it, keyed by the select's labels; its columns are also attributes (the
    dict is its own attribute table), so a read model's ``of`` takes it as it takes a record."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.__dict__ = self

    if TYPE_CHECKING:  # what the attribute table gives, as the type checker sees it

        def __getattr__(self, name: str) -> Any: ...


Model = TypeVar("Model", bound=BaseModel)
Member = TypeVar("Member", bound=StrEnum)


def by_value(enumeration: type[Member]) -> dict[str, Member]:
    """An enumeration's members by value, for turning a driver's strings into members without calling the
    enumeration (≈1 µs a call, three or four for every row of a page)."""
    return {member.value: member for member in enumeration}


def read_model(model: type[Model], **values: Any) -> Model:
    """A read model from values already valid (read from the database, typed by its columns), as pydantic's
    ``model_construct`` makes one but without its per-field bookkeeping (≈10 µs a model: half the cost of a
    page of 50): ``values`` must name every field."""
    made = model.__new__(model)
    # In the fields' order, as validation would have put them (it is the order they are written in JSON).
    object.__setattr__(made, "__dict__", {name: values[name] for name in model.__pydantic_fields__})
    object.__setattr__(made, "__pydantic_fields_set__", set(values))
    object.__setattr__(made, "__pydantic_extra__", None)
    object.__setattr__(made, "__pydantic_private__", None)
    return made


# Compiled SQL by statement shape (SQLAlchemy's cache key): a read compiles once, then only binds values.
_COMPILED: LRUCache[Any, SQLCompiler] = LRUCache(COMPILED_SHAPES)


async def mappings(reader: Reader, query: Select[*Columns], **values: Any) -> list[LeanRow]:
    """The rows of ``query``, each a dict keyed by the select's labels; ``values`` for its named
    ``bindparam``s (a statement built once, at import, costs nothing to build again). Read on a session's
    connection: inside its transaction once that has begun (so they include what it has flushed); before
    that, as a statement of its own, which under READ COMMITTED sees the same."""
    connection = reader if isinstance(reader, AsyncConnection) else await reader.connection()
    driver = await driver_of(connection)
    dialect = connection.dialect
    shape = query._generate_cache_key()
    assert shape is not None  # every select of this code base can be cached
    compiled = _COMPILED.get(shape.key)
    if compiled is None:
        compiled = dialect.statement_compiler(dialect, query, cache_key=shape)
        _COMPILED[shape.key] = compiled
    # The values of this statement's parameters in the compiled shape's places (IN lists expanded).
    bound = compiled._process_parameters_for_postcompile(
        compiled.construct_params(values or None, extracted_parameters=shape.bindparams)
    )
    arguments = [bound.parameters[name] for name in bound.positiontup or ()]
    for name, value in zip(bound.positiontup or (), arguments, strict=True):
        if not isinstance(value, _PLAIN):
            raise TypeError(f"parameter {name} is a {type(value).__name__}: lean reads take plain values")
    try:
        records = await driver.fetch(bound.statement, *arguments)
    except Exception:
        if driver.is_closed():
            # Let SQLAlchemy meet the dead connection, as it would have: it drops it and every older one in
            # the pool, and raises its disconnect error (which the API's retry and 503 answer know).
            await connection.exec_driver_sql("SELECT 1")
        raise
    return [LeanRow(record) for record in records]
