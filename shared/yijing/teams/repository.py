from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.identity.models import User
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.org.models import Site
from yijing.teams.models import TeamAssignment
from yijing.teams.schemas import AssignmentFilters

# New and changed records that no declared unique constraint can refuse.
save = kit.save


async def get(
    session: AsyncSession, assignment_id: uuid.UUID, site_id: uuid.UUID, *, for_update: bool = False
) -> TeamAssignment | None:
    of_site = col(TeamAssignment.site_id) == site_id
    return await kit.get(session, TeamAssignment, assignment_id, of_site, for_update=for_update)


async def held_at(
    session: AsyncSession, site_id: uuid.UUID, at: datetime | None
) -> Sequence[tuple[TeamAssignment, str]]:
    """The site's assignments holding at ``at`` (open ones when None), with the holders' names."""
    query = (
        select(TeamAssignment, col(User.name))
        .join(User, col(User.id) == col(TeamAssignment.user_id))
        .where(col(TeamAssignment.site_id) == site_id)
    )
    query = query.where(col(TeamAssignment.ends_at).is_(None) if at is None else _holding(at))
    rows = await session.execute(query.order_by(col(TeamAssignment.starts_at), col(TeamAssignment.id)))
    return rows.all()


def _holding(at: datetime) -> ColumnElement[bool]:
    """Assignments that had started by ``at`` and had not ended."""
    return and_(
        col(TeamAssignment.starts_at) <= at,
        or_(col(TeamAssignment.ends_at).is_(None), col(TeamAssignment.ends_at) > at),
    )


async def held_by(
    session: AsyncSession, user_id: uuid.UUID, at: datetime
) -> Sequence[tuple[TeamAssignment, str]]:
    """The user's assignments holding at ``at``, with their sites' names, by site name."""
    query = (
        select(TeamAssignment, col(Site.name))
        .join(Site, col(Site.id) == col(TeamAssignment.site_id))
        .where(col(TeamAssignment.user_id) == user_id, _holding(at))
        .order_by(col(Site.name), col(Site.id))
    )
    return (await session.execute(query)).all()


# What an assignment's read model shows (AssignmentRead), its holder's name with it.
SHOWN = (
    col(TeamAssignment.id), col(TeamAssignment.site_id), col(TeamAssignment.user_id), col(User.name),
    col(TeamAssignment.post), col(TeamAssignment.starts_at), col(TeamAssignment.ends_at),
    col(TeamAssignment.end_reason), col(TeamAssignment.assigned_by), col(TeamAssignment.ended_by),
)  # fmt: skip
_SHOWN = select(*SHOWN).join(User, col(User.id) == col(TeamAssignment.user_id))


async def list_assignments(
    reader: Reader, site_id: uuid.UUID, filters: AssignmentFilters, page: PageParams
) -> list[LeanRow]:
    query = _SHOWN.where(col(TeamAssignment.site_id) == site_id)
    if not filters.include_ended:
        query = query.where(col(TeamAssignment.ends_at).is_(None))
    return await kit.read_page(reader, query, TeamAssignment.id, page)


# What a team member's read model shows (TeamMember).
MEMBER_SHOWN: tuple[Any, ...] = (
    col(TeamAssignment.id).label("assignment_id"), col(TeamAssignment.user_id), col(User.name),
    col(TeamAssignment.post), col(TeamAssignment.starts_at), col(TeamAssignment.ends_at),
)  # fmt: skip
_MEMBERS = (
    select(*MEMBER_SHOWN)
    .join(User, col(User.id) == col(TeamAssignment.user_id))
    .order_by(col(TeamAssignment.starts_at), col(TeamAssignment.id))
)


async def read_members(reader: Reader, site_id: uuid.UUID, at: datetime | None) -> list[LeanRow]:
    """:func:`held_at`, read lean: the site's assignments holding at ``at`` (open ones when None)."""
    holding = col(TeamAssignment.ends_at).is_(None) if at is None else _holding(at)
    return await mappings(reader, _MEMBERS.where(col(TeamAssignment.site_id) == site_id, holding))


async def holder_name(session: AsyncSession, user_id: uuid.UUID) -> str:
    return (await session.scalar(select(col(User.name)).where(col(User.id) == user_id))) or ""
