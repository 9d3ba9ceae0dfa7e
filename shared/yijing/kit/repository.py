"""What every domain's repository does the same way: a record by id within the caller's reach, or the one
record some conditions pick (either optionally locked); a record written at once (:func:`save`; one that
may clash goes through :mod:`yijing.conflicts`, so that the clash is its 409); a keyset page of a list.
What a GET answers is read lean (:func:`read`, :func:`read_page`): the read model's columns as plain rows.
A repository declares only what is its own: which conditions make a caller's reach (its station column's
``StationScope.clause``, a parent's id…) and which conditions its list's filters are::

    async def get(session, volunteer_id, scope, *, for_update=False):
        reach = scope.clause(Volunteer.station_id)
        return await kit.get(session, Volunteer, volunteer_id, reach, for_update=for_update)

    async def list_volunteers(session, scope, filters: VolunteerFilters, page: PageParams):
        conditions = kit.equal((Volunteer.site_id, filters.site_id), (Volunteer.status, filters.status))
        query = select(Volunteer).where(scope.clause(Volunteer.station_id), *conditions)
        return await kit.fetch_page(session, query, Volunteer.id, page)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Select, bindparam, inspect, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from yijing.access import StationScope
from yijing.kit import reads
from yijing.kit.pagination import PageParams, decode_cursor
from yijing.kit.reads import LeanRow

__all__ = ["equal", "fetch_page", "get", "keyset", "one", "reaches", "read", "read_page", "save", "save_all"]

M = TypeVar("M", bound=SQLModel)
Columns = TypeVarTuple("Columns")


async def save(session: AsyncSession, record: M) -> M:
    """Write ``record`` (new or changed) at once, and return it: for records no declared unique constraint
    can refuse (history rows, audit events, outbox messages, job runs). A write that may clash goes through
    ``conflicts.add`` or ``conflicts.changing``, so that the clash is its 409."""
    session.add(record)
    await session.flush()
    return record


async def save_all(session: AsyncSession, records: Sequence[M]) -> None:
    """Write many new records (a job's batch) at once: one INSERT per table, as :func:`save` would one."""
    session.add_all(records)
    await session.flush()


async def one(
    session: AsyncSession, model: type[M], *conditions: ColumnElement[bool], for_update: bool = False
) -> M | None:
    """The ``model`` record the conditions pick (at most one: a unique key), or None. ``for_update`` locks
    its row until the transaction ends."""
    query = select(model).where(*conditions)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get(
    session: AsyncSession,
    model: type[M],
    record_id: uuid.UUID,
    *reach: ColumnElement[bool],
    for_update: bool = False,
) -> M | None:
    """The ``model`` record with that id if ``reach`` holds for it; None when there is none or it is out of
    reach (the caller cannot tell which: what it does not reach does not exist for it). ``for_update``
    locks the row until the transaction ends."""
    [id_column] = inspect(model).primary_key
    return await one(session, model, id_column == record_id, *reach, for_update=for_update)


def equal(*filters: tuple[Any, object]) -> list[ColumnElement[bool]]:
    """``column == value`` for each ``(column, value)`` whose value is given: a list's optional filters."""
    return [col(column) == value for column, value in filters if value is not None]


def keyset(
    query: Select[*Columns],
    id_column: Any,
    page: PageParams,
    *,
    newest_first: bool = False,
    by: Any = None,
) -> Select[*Columns]:
    """``query`` narrowed to one page, in id order (newest first when asked: ids are time-ordered), or in
    (``by``, id) order when given: the rows after the page's cursor, ``limit + 1`` of them, the extra one only
    saying there is a next page (:func:`yijing.kit.pagination.page_of` makes the page). The cursor is always
    the last row's id; with ``by``, its ``by`` value is read back from its row (so an index on (…, ``by``)
    serves every page), and a cursor naming no row gives an empty page."""
    after = decode_cursor(page.cursor)
    if by is None:
        if after is not None:
            query = query.where(col(id_column) < after if newest_first else col(id_column) > after)
        order = col(id_column).desc() if newest_first else col(id_column)
        return query.order_by(order).limit(page.limit + 1)
    if after is not None:
        # Not correlated: the cursor's row is looked up on its own, not among the query's rows.
        cursor_by = select(col(by)).where(col(id_column) == after).correlate(None).scalar_subquery()
        position, cursor = tuple_(col(by), col(id_column)), tuple_(cursor_by, literal(after))
        query = query.where(position < cursor if newest_first else position > cursor)
    if newest_first:
        return query.order_by(col(by).desc(), col(id_column).desc()).limit(page.limit + 1)
    return query.order_by(col(by), col(id_column)).limit(page.limit + 1)


async def read(
    reader: reads.Reader, query: Select[*Columns], id_column: Any, record_id: uuid.UUID
) -> LeanRow | None:
    """The lean read of one record: the row of ``query`` (the columns its read model shows, and the caller's
    reach as conditions) with that id, or None. Run on the driver (:mod:`yijing.kit.reads`): no ORM objects,
    no identity map, no result processing, for a read model built without re-validation."""
    rows = await reads.mappings(reader, query.where(col(id_column) == record_id))
    return rows[0] if rows else None


@lru_cache(maxsize=64)
def _ids(model: type[SQLModel]) -> tuple[Select[tuple[uuid.UUID]], Any]:
    [id_column] = inspect(model).primary_key
    return select(id_column), id_column


async def reaches(
    reader: reads.Reader, model: type[SQLModel], record_id: uuid.UUID, reach: ColumnElement[bool]
) -> bool:
    """Whether the ``model`` record with that id exists within ``reach``, read lean (its id only): for a read
    of the rows that hang off a record (a patrol's log, a dispute's history), which would otherwise answer
    an empty list for a record out of reach instead of its 404. The select of the id is built once a
    model."""
    query, id_column = _ids(model)
    return await read(reader, query.where(reach), id_column, record_id) is not None


@lru_cache(maxsize=1024)
def _by_id_within(
    query: Select[*Columns], model: type[SQLModel], stations: frozenset[uuid.UUID] | None
) -> Select[*Columns]:
    station_id, record_id = model.station_id, model.id  # type: ignore[attr-defined]
    return query.where(StationScope(stations).clause(station_id), col(record_id) == bindparam("record_id"))


async def read_within(
    reader: reads.Reader,
    query: Select[*Columns],
    model: type[SQLModel],
    record_id: uuid.UUID,
    scope: StationScope,
) -> LeanRow | None:
    """:func:`read` for a caller whose reach is their station scope alone (of a model with ``id`` and
    ``station_id`` columns), for the gets called all day: the statement is built once for each query and
    scope, the id bound, so that a request neither builds nor keys a statement of its own (≈60 µs of a
    hazard read's ≈1 ms)."""
    rows = await reads.mappings(reader, _by_id_within(query, model, scope.stations), record_id=record_id)
    return rows[0] if rows else None


async def read_page(
    reader: reads.Reader,
    query: Select[*Columns],
    id_column: Any,
    page: PageParams,
    *,
    newest_first: bool = False,
    by: Any = None,
) -> list[LeanRow]:
    """The lean read of one page (see :func:`keyset` and :func:`read`)."""
    return await reads.mappings(reader, keyset(query, id_column, page, newest_first=newest_first, by=by))


async def fetch_page(
    session: AsyncSession,
    query: Select[M],
    id_column: Any,
    page: PageParams,
    *,
    newest_first: bool = False,
) -> Sequence[M]:
    """One page of the records ``query`` selects (see :func:`keyset`); a query of several columns runs its
    :func:`keyset` itself."""
    return (await session.scalars(keyset(query, id_column, page, newest_first=newest_first))).all()
