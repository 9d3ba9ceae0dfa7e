from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, bindparam, delete, exists, func, literal, select, union
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from yijing.groups.models import Group, GroupMembership
from yijing.ids import utcnow
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams
from yijing.kit.reads import LeanRow, Reader, mappings
from yijing.org.models import Site
from yijing.training.models import (
    AttendanceStatus,
    Training,
    TrainingAttendance,
    TrainingAudience,
)
from yijing.training.schemas import AttendanceFilters, TrainingFilters
from yijing.volunteers.models import Volunteer, VolunteerStatus

# New and changed records that no declared unique constraint can refuse.
save = kit.save
save_all = kit.save_all


async def get(
    session: AsyncSession, training_id: uuid.UUID, reach: ColumnElement[bool], *, for_update: bool = False
) -> Training | None:
    return await kit.get(session, Training, training_id, reach, for_update=for_update)


def enrolled(volunteer_id: uuid.UUID) -> ColumnElement[bool]:
    """The condition for the trainings the volunteer is enrolled in."""
    return exists().where(
        col(TrainingAttendance.training_id) == col(Training.id),
        col(TrainingAttendance.volunteer_id) == volunteer_id,
    )


# What a training's read model shows (TrainingRead, less its audience and enrolment count): a list and a
# get read only these.
SHOWN = (
    col(Training.id), col(Training.station_id), col(Training.title), col(Training.topics),
    col(Training.mode), col(Training.starts_at), col(Training.ends_at), col(Training.place),
    col(Training.meeting_url), col(Training.trainer), col(Training.required), col(Training.status),
    col(Training.cancel_reason), col(Training.cancelled_at), col(Training.rule_version),
    col(Training.settled_at), col(Training.created_by), col(Training.version), col(Training.created_at),
    col(Training.updated_at),
)  # fmt: skip
_SHOWN = select(*SHOWN)  # built once: a select of many columns costs more to build than to run


async def read(reader: Reader, training_id: uuid.UUID, reach: ColumnElement[bool]) -> LeanRow | None:
    """A training as its read model shows it (lean: see :func:`yijing.kit.repository.read`)."""
    return await kit.read(reader, _SHOWN.where(reach), Training.id, training_id)


async def list_trainings(
    reader: Reader, reach: ColumnElement[bool], filters: TrainingFilters, page: PageParams
) -> list[LeanRow]:
    """One query, whatever the filters, in start order."""
    conditions = kit.equal(
        (Training.station_id, filters.station_id),
        (Training.status, filters.status),
        (Training.mode, filters.mode),
        (Training.required, filters.required),
    )
    if filters.site_id is not None:
        conditions.append(
            exists().where(
                col(TrainingAudience.training_id) == col(Training.id),
                col(TrainingAudience.site_id) == filters.site_id,
            )
        )
    if filters.topic is not None:
        # "topics ? topic": the array holds it ("@>" takes a JSON document; a lean read, plain values).
        conditions.append(col(Training.topics).op("?")(filters.topic.value))
    if filters.starts_after is not None:
        conditions.append(col(Training.starts_at) >= filters.starts_after)
    if filters.starts_before is not None:
        conditions.append(col(Training.starts_at) < filters.starts_before)
    query = _SHOWN.where(reach, *conditions)
    return await kit.read_page(reader, query, Training.id, page, by=Training.starts_at)


# Audiences and enrolment counts of a page of trainings (or of one): one lean query each, whatever the
# page's size. Read on the session's connection, they also serve a write's answer: what it wrote to these
# tables is flushed by then (a statement, or kit.save_all).

# What an audience's read model shows (AudienceRead), with the training it belongs to.
AUDIENCE_SHOWN = (
    col(TrainingAudience.training_id), col(TrainingAudience.kind), col(TrainingAudience.site_id),
    col(TrainingAudience.group_id), col(TrainingAudience.volunteer_id),
)  # fmt: skip
_AUDIENCES = (
    select(*AUDIENCE_SHOWN)
    .where(col(TrainingAudience.training_id).in_(bindparam("training_ids", expanding=True)))
    .order_by(col(TrainingAudience.training_id), col(TrainingAudience.id))
)
_ENROLLED_COUNTS = (
    select(col(TrainingAttendance.training_id), func.count().label("enrolled"))
    .where(col(TrainingAttendance.training_id).in_(bindparam("training_ids", expanding=True)))
    .group_by(col(TrainingAttendance.training_id))
)


async def audiences_of(reader: Reader, training_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[LeanRow]]:
    audiences: dict[uuid.UUID, list[LeanRow]] = defaultdict(list)
    for audience in await mappings(reader, _AUDIENCES, training_ids=list(training_ids)):
        audiences[audience.training_id].append(audience)
    return audiences


async def enrolled_counts(reader: Reader, training_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await mappings(reader, _ENROLLED_COUNTS, training_ids=list(training_ids))
    return {row.training_id: row.enrolled for row in rows}


async def replace_audience(
    session: AsyncSession, training_id: uuid.UUID, audience: Sequence[TrainingAudience]
) -> None:
    await session.execute(delete(TrainingAudience).where(col(TrainingAudience.training_id) == training_id))
    await kit.save_all(session, audience)


# The audience's ids that are the station's (the others are refused by name).


async def station_sites(
    session: AsyncSession, station_id: uuid.UUID, site_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    query = select(col(Site.id)).where(col(Site.id).in_(site_ids), col(Site.station_id) == station_id)
    return set((await session.scalars(query)).all())


async def station_groups(
    session: AsyncSession, station_id: uuid.UUID, group_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    query = select(col(Group.id)).where(col(Group.id).in_(group_ids), col(Group.station_id) == station_id)
    return set((await session.scalars(query)).all())


async def station_volunteers(
    session: AsyncSession, station_id: uuid.UUID, volunteer_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    query = select(col(Volunteer.id)).where(
        col(Volunteer.id).in_(volunteer_ids), col(Volunteer.station_id) == station_id
    )
    return set((await session.scalars(query)).all())


# Enrolment


def _audience(training_id: uuid.UUID) -> CompoundSelect[uuid.UUID, uuid.UUID]:
    """The active volunteers the training's audience names now (its sites', its groups' current members,
    those named), each with their site: each part read through its own index, once in all."""
    audience = select(TrainingAudience).where(col(TrainingAudience.training_id) == training_id).subquery()
    active = col(Volunteer.status) == VolunteerStatus.ACTIVE
    volunteers = select(col(Volunteer.id), col(Volunteer.site_id))
    by_site = volunteers.join(audience, audience.c.site_id == col(Volunteer.site_id)).where(active)
    by_group = (
        volunteers.join(GroupMembership, col(GroupMembership.volunteer_id) == col(Volunteer.id))
        .join(audience, audience.c.group_id == col(GroupMembership.group_id))
        .where(col(GroupMembership.left_at).is_(None), active)
    )
    named = volunteers.join(audience, audience.c.volunteer_id == col(Volunteer.id)).where(active)
    return union(by_site, by_group, named)


async def sync_enrolment(session: AsyncSession, training: Training) -> int:
    """In one statement (a session may have thousands), the audience read once: enrol the volunteers it
    names now and not yet enrolled, at their site now, and remove the rows of those it no longer names
    that hold nothing yet (no check-in, no minutes, no excuse, not settled). Returns how many rows it added
    or removed. (Row ids from the database: nothing pages them.)"""
    named = _audience(training.id).cte("named")
    named_id, named_site = named.c  # the union's columns, as its first part names them
    # Those enrolled already are left out before the insert: a conflict per row costs far more than the
    # anti-join (the conflict clause is for another transaction enrolling them meanwhile).
    enrolled = select(col(TrainingAttendance.id)).where(
        col(TrainingAttendance.training_id) == training.id, col(TrainingAttendance.volunteer_id) == named_id
    )
    columns = {
        "id": func.gen_random_uuid(), "training_id": literal(training.id), "volunteer_id": named_id,
        "station_id": literal(training.station_id), "site_id": named_site,
        "status": literal(AttendanceStatus.PENDING.value), "updated_at": literal(utcnow()),
    }  # fmt: skip
    added = (
        insert(TrainingAttendance)
        .from_select(list(columns), select(*columns.values()).where(~enrolled.exists()))
        .on_conflict_do_nothing()
        .returning(col(TrainingAttendance.id))
        .cte("added")
    )
    removed = (
        delete(TrainingAttendance)
        .where(
            col(TrainingAttendance.training_id) == training.id,
            col(TrainingAttendance.volunteer_id).not_in(select(named_id)),
            col(TrainingAttendance.status) == AttendanceStatus.PENDING,
            col(TrainingAttendance.checked_in_at).is_(None),
            col(TrainingAttendance.online_minutes).is_(None),
            col(TrainingAttendance.settled_at).is_(None),
        )
        .returning(col(TrainingAttendance.id))
        .cte("removed")
    )
    counts = select(
        select(func.count()).select_from(added).scalar_subquery()
        + select(func.count()).select_from(removed).scalar_subquery()
    )
    return int(await session.scalar(counts) or 0)


async def enrolled_volunteers(session: AsyncSession, training_id: uuid.UUID) -> set[uuid.UUID]:
    query = select(col(TrainingAttendance.volunteer_id)).where(
        col(TrainingAttendance.training_id) == training_id
    )
    return set((await session.scalars(query)).all())


# Attendance


async def attendance(
    session: AsyncSession, training_id: uuid.UUID, volunteer_id: uuid.UUID, *, for_update: bool = False
) -> TrainingAttendance | None:
    return await kit.one(
        session,
        TrainingAttendance,
        col(TrainingAttendance.training_id) == training_id,
        col(TrainingAttendance.volunteer_id) == volunteer_id,
        for_update=for_update,
    )


# What an attendance row's read model shows (AttendanceRead): its columns and the volunteer's name.
ATTENDANCE_SHOWN: tuple[Any, ...] = (
    col(TrainingAttendance.training_id), col(TrainingAttendance.volunteer_id),
    col(Volunteer.name).label("volunteer_name"), col(TrainingAttendance.site_id),
    col(TrainingAttendance.status), col(TrainingAttendance.checked_in_at),
    col(TrainingAttendance.checkin_method), col(TrainingAttendance.checked_in_by),
    col(TrainingAttendance.online_minutes), col(TrainingAttendance.excuse_reason),
    col(TrainingAttendance.rule_version), col(TrainingAttendance.settled_at),
)  # fmt: skip
_ATTENDANCE_SHOWN = select(*ATTENDANCE_SHOWN).join(
    Volunteer, col(Volunteer.id) == col(TrainingAttendance.volunteer_id)
)


async def attendance_rows(
    reader: Reader, training_id: uuid.UUID, filters: AttendanceFilters, volunteer_id: uuid.UUID | None
) -> list[LeanRow]:
    """The training's attendance with each volunteer's name, by name; only ``volunteer_id``'s when given."""
    conditions = kit.equal(
        (TrainingAttendance.status, filters.status),
        (TrainingAttendance.site_id, filters.site_id),
        (TrainingAttendance.volunteer_id, volunteer_id),
    )
    query = _ATTENDANCE_SHOWN.where(col(TrainingAttendance.training_id) == training_id, *conditions)
    return await mappings(reader, query.order_by(col(Volunteer.name), col(TrainingAttendance.id)))


async def volunteer_name(session: AsyncSession, volunteer_id: uuid.UUID) -> str:
    name = await session.scalar(select(col(Volunteer.name)).where(col(Volunteer.id) == volunteer_id))
    assert name is not None  # an attendance row names an existing volunteer
    return name


async def enrolled_accounts(session: AsyncSession, training_id: uuid.UUID) -> list[uuid.UUID]:
    """The accounts of the training's enrolled volunteers (those who have one)."""
    query = (
        select(col(Volunteer.user_id))
        .join(TrainingAttendance, col(TrainingAttendance.volunteer_id) == col(Volunteer.id))
        .where(col(TrainingAttendance.training_id) == training_id, col(Volunteer.user_id).is_not(None))
        .order_by(col(Volunteer.user_id))
    )
    return [user_id for user_id in (await session.scalars(query)).all() if user_id is not None]


async def set_minutes(session: AsyncSession, training_id: uuid.UUID, minutes: dict[uuid.UUID, int]) -> int:
    """Store each enrolled volunteer's minutes online; returns how many rows took them."""
    rows = (
        await session.scalars(
            select(TrainingAttendance)
            .where(
                col(TrainingAttendance.training_id) == training_id,
                col(TrainingAttendance.volunteer_id).in_(list(minutes)),
            )
            .with_for_update()
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.online_minutes = minutes[row.volunteer_id]
        row.updated_at = now
    await session.flush()
    return len(rows)
