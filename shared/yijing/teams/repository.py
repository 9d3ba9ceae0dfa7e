from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.identity.models import User
from yijing.teams.models import TeamAssignment


async def add(session: AsyncSession, assignment: TeamAssignment) -> None:
    session.add(assignment)
    await session.flush()


async def get(
    session: AsyncSession, assignment_id: uuid.UUID, site_id: uuid.UUID, *, for_update: bool = False
) -> TeamAssignment | None:
    query = select(TeamAssignment).where(
        col(TeamAssignment.id) == assignment_id, col(TeamAssignment.site_id) == site_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def held_at(
    session: AsyncSession, site_id: uuid.UUID, at: datetime | None
) -> Sequence[tuple[TeamAssignment, str]]:
    """The site's assignments holding at ``at`` (open ones when None), with the holders' names."""
    query = (
        select(TeamAssignment, col(User.name))
        .join(User, col(User.id) == col(TeamAssignment.user_id))
        .where(col(TeamAssignment.site_id) == site_id)
    )
    if at is None:
        query = query.where(col(TeamAssignment.ends_at).is_(None))
    else:
        query = query.where(
            col(TeamAssignment.starts_at) <= at,
            or_(col(TeamAssignment.ends_at).is_(None), col(TeamAssignment.ends_at) > at),
        )
    rows = await session.execute(query.order_by(col(TeamAssignment.starts_at), col(TeamAssignment.id)))
    return rows.all()


async def list_assignments(
    session: AsyncSession, site_id: uuid.UUID, *, limit: int, after_id: uuid.UUID | None, include_ended: bool
) -> Sequence[tuple[TeamAssignment, str]]:
    query = (
        select(TeamAssignment, col(User.name))
        .join(User, col(User.id) == col(TeamAssignment.user_id))
        .where(col(TeamAssignment.site_id) == site_id)
    )
    if not include_ended:
        query = query.where(col(TeamAssignment.ends_at).is_(None))
    if after_id is not None:
        query = query.where(col(TeamAssignment.id) > after_id)
    rows = await session.execute(query.order_by(col(TeamAssignment.id)).limit(limit + 1))
    return rows.all()


async def holder_name(session: AsyncSession, user_id: uuid.UUID) -> str:
    return (await session.scalar(select(col(User.name)).where(col(User.id) == user_id))) or ""
