"""Patrol routes and their checkpoints: who may read and change them is decided at the edge; what they reach
is the scope (a route is its station's: every role of the station reads it, its staff change it).

A checkpoint's code is what its QR code or NFC tag carries: staff read it (to print or write the tag),
volunteers and API keys do not (a volunteer proves presence by scanning, not by knowing the code)."""

from __future__ import annotations

import secrets
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yijing import conflicts
from yijing.access import STAFF, Actor
from yijing.audit import service as audit
from yijing.errors import check_version
from yijing.ids import utcnow
from yijing.kit.lifecycle import Lifecycle
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader
from yijing.kit.versions import apply_changes
from yijing.org import repository as org_repository
from yijing.org.errors import SiteNotFound
from yijing.patrols.routes import repository
from yijing.patrols.routes.errors import (
    CheckpointInUse,
    CheckpointNotFound,
    PatrolRouteNotFound,
    RouteInUse,
    RouteRetired,
)
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute, RouteStatus, status_of
from yijing.patrols.routes.schemas import (
    CheckpointCreate,
    CheckpointRead,
    CheckpointUpdate,
    CodeRotation,
    PatrolRouteCreate,
    PatrolRouteDetail,
    PatrolRouteFilters,
    PatrolRouteRead,
    PatrolRouteUpdate,
)


class RouteAction(StrEnum):
    RETIRE = "retire"  # in use → retired: kept, with its checkpoints, but no longer planned or changed


# Retired is final: a route walked differently is a new route.
LIFECYCLE = Lifecycle(
    "patrol route", {RouteAction.RETIRE: ({RouteStatus.IN_USE}, RouteStatus.RETIRED)}, subject_zh="巡防路线"
)

ROUTE = "patrol_route"
CHECKPOINT = "patrol_checkpoint"


def new_code() -> str:
    """A random tag value: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def shows_codes(actor: Actor) -> bool:
    """Whether the caller reads checkpoint codes: station staff do; volunteers and API keys do not."""
    return actor.role in STAFF


def _allowed(route: PatrolRoute | LeanRow) -> list[str]:
    return [str(action) for action in LIFECYCLE.allowed(status_of(route.retired_at))]


def read(route: PatrolRoute | LeanRow) -> PatrolRouteRead:
    return PatrolRouteRead.of(route, _allowed(route))


def read_checkpoint(checkpoint: PatrolCheckpoint | LeanRow, actor: Actor) -> CheckpointRead:
    return CheckpointRead.of(checkpoint, show_code=shows_codes(actor))


async def detail(reader: Reader, actor: Actor, route: PatrolRoute | LeanRow) -> PatrolRouteDetail:
    """The route with its checkpoints, in order (read lean), from its record or a lean row."""
    checkpoints = await repository.checkpoints(reader, route.id)
    shown = [read_checkpoint(checkpoint, actor) for checkpoint in checkpoints]
    return PatrolRouteDetail.with_checkpoints(route, _allowed(route), shown)


async def _record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    record: PatrolRoute | PatrolCheckpoint,
    changes: dict[str, Any] | None = None,
) -> None:
    target_type = ROUTE if isinstance(record, PatrolRoute) else CHECKPOINT
    await audit.record(
        session, actor, f"{target_type}.{action}", target_type=target_type, target_id=record.id,
        station_id=record.station_id, changes=changes,
    )  # fmt: skip


# Routes


def _not_found(route_id: uuid.UUID) -> PatrolRouteNotFound:
    return PatrolRouteNotFound(f"no patrol route {route_id}", zh=f"未找到巡防路线 {route_id}")


async def read_route(reader: Reader, actor: Actor, route_id: uuid.UUID) -> PatrolRouteDetail:
    """A route within the caller's reach, with its checkpoints (read lean)."""
    row = await repository.read(reader, route_id, actor.scope)
    if row is None:
        raise _not_found(route_id)
    return await detail(reader, actor, row)


async def list_routes(
    reader: Reader, actor: Actor, filters: PatrolRouteFilters, page: PageParams
) -> Page[PatrolRouteRead]:
    routes = await repository.list_routes(reader, actor.scope, filters, page)
    return page_of(routes, page.limit, read)


async def _route_to_change(
    session: AsyncSession, actor: Actor, route_id: uuid.UUID, expected_version: int | None = None
) -> PatrolRoute:
    """The route, locked for this transaction, after the caller's If-Match is checked (a route's
    checkpoints are changed under its lock too, so that retiring it and adding to it never cross)."""
    route = await repository.get_route(session, route_id, actor.scope, for_update=True)
    if route is None:
        raise _not_found(route_id)
    check_version(route.version, expected_version)
    return route


def _require_in_use(route: PatrolRoute) -> None:
    if route.retired_at is not None:
        raise RouteRetired(
            f"the patrol route {route.id} is retired: it takes no new checkpoints or edits",
            zh=f"巡防路线 {route.id} 已停用，不能再添加巡防点或修改",
        )


async def create_route(session: AsyncSession, actor: Actor, data: PatrolRouteCreate) -> PatrolRoute:
    site = await org_repository.get_site(session, data.site_id, actor.scope)
    if site is None:
        raise SiteNotFound(f"no site {data.site_id}", zh=f"未找到站点 {data.site_id}")
    route = PatrolRoute(
        station_id=site.station_id, site_id=site.id, name=data.name, description=data.description
    )
    await conflicts.add(session, route)
    await _record(session, actor, "create", route, data.model_dump(mode="json", exclude_none=True))
    return route


async def update_route(
    session: AsyncSession,
    actor: Actor,
    route_id: uuid.UUID,
    data: PatrolRouteUpdate,
    expected_version: int | None,
) -> PatrolRoute:
    route = await _route_to_change(session, actor, route_id, expected_version)
    _require_in_use(route)
    updates = data.model_dump(exclude_unset=True, exclude_none=True)
    if "description" in data.model_fields_set:  # given, even as null: null removes it
        updates["description"] = data.description
    async with conflicts.changing(session, route):
        changes = apply_changes(route, updates)
    if changes:
        await _record(session, actor, "update", route, changes)
    return route


async def take_action(
    session: AsyncSession,
    actor: Actor,
    route_id: uuid.UUID,
    action: RouteAction,
    expected_version: int | None,
) -> PatrolRoute:
    route = await _route_to_change(session, actor, route_id, expected_version)
    previous = route.status
    target = LIFECYCLE.require(previous, action)
    # Retiring is the only action: the status is whether the route has a retired_at.
    route.retired_at = route.updated_at = utcnow()
    route.version += 1
    await repository.save(session, route)
    await _record(session, actor, str(action), route, {"from": str(previous), "to": str(target)})
    return route


async def delete_route(
    session: AsyncSession, actor: Actor, route_id: uuid.UUID, expected_version: int | None
) -> None:
    """Delete the route and, with it, its checkpoints. A route patrols or repeating plans refer to (ON DELETE
    RESTRICT) is refused (409 ``route_in_use``): it is retired instead."""
    route = await _route_to_change(session, actor, route_id, expected_version)
    if await repository.in_use(session, route.id):
        raise RouteInUse(
            f"patrols or plans refer to the patrol route {route.id}: retire it instead of deleting it",
            zh=f"巡防路线 {route.id} 已被巡防或巡防计划使用，不能删除，请改为停用",
        )
    removed = await repository.checkpoint_ids(session, route.id)
    await session.delete(route)
    await session.flush()
    await _record(session, actor, "delete", route, {"checkpoint_ids": [str(item) for item in removed]})


# Checkpoints


async def _checkpoint_to_change(
    session: AsyncSession,
    actor: Actor,
    route_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    expected_version: int | None,
) -> PatrolCheckpoint:
    """The route's checkpoint, locked with its route, after the caller's If-Match (the checkpoint's
    version) is checked; the route must be in use."""
    route = await _route_to_change(session, actor, route_id)
    checkpoint = await repository.get_checkpoint(session, route.id, checkpoint_id, for_update=True)
    if checkpoint is None:
        raise CheckpointNotFound(
            f"no checkpoint {checkpoint_id} on the patrol route {route_id}",
            zh=f"巡防路线 {route_id} 上没有巡防点 {checkpoint_id}",
        )
    check_version(checkpoint.version, expected_version)
    _require_in_use(route)
    return checkpoint


def _point(data: CheckpointUpdate) -> dict[str, float]:
    """The point's columns, if a new point is given (null: the point stays)."""
    location = data.location
    return {} if location is None else {"latitude": location.latitude, "longitude": location.longitude}


async def add_checkpoint(
    session: AsyncSession, actor: Actor, route_id: uuid.UUID, data: CheckpointCreate
) -> PatrolCheckpoint:
    route = await _route_to_change(session, actor, route_id)
    _require_in_use(route)
    position = data.position or await repository.last_position(session, route.id) + 1
    checkpoint = PatrolCheckpoint(
        station_id=route.station_id, route_id=route.id, position=position, name=data.name,
        latitude=data.location.latitude, longitude=data.location.longitude, radius_m=data.radius_m,
        code=data.code or new_code(),
    )  # fmt: skip
    await conflicts.add(session, checkpoint)
    changes = data.model_dump(mode="json", exclude={"code"}) | {
        "position": position,
        "code": "[given]" if data.code else "[generated]",
    }
    await _record(session, actor, "create", checkpoint, changes)
    return checkpoint


async def update_checkpoint(
    session: AsyncSession,
    actor: Actor,
    route_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    data: CheckpointUpdate,
    expected_version: int | None,
) -> PatrolCheckpoint:
    checkpoint = await _checkpoint_to_change(session, actor, route_id, checkpoint_id, expected_version)
    updates = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"location"}) | _point(data)
    async with conflicts.changing(session, checkpoint):
        changes = apply_changes(checkpoint, updates)
    if changes:
        await _record(session, actor, "update", checkpoint, changes)
    return checkpoint


async def rotate_code(
    session: AsyncSession,
    actor: Actor,
    route_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    data: CodeRotation | None,
    expected_version: int | None,
) -> PatrolCheckpoint:
    """A new code for the checkpoint (the one given, e.g. a new NFC chip's id, or a random one): the old
    tag no longer names it. Giving the code it has already changes nothing."""
    checkpoint = await _checkpoint_to_change(session, actor, route_id, checkpoint_id, expected_version)
    given = data.code if data is not None else None
    async with conflicts.changing(session, checkpoint):
        changes = apply_changes(checkpoint, {"code": given or new_code()})
    if changes:
        # The audit log says that the code changed, not what it is.
        how = {"code": "[given]" if given else "[generated]"}
        await _record(session, actor, "rotate_code", checkpoint, how)
    return checkpoint


async def delete_checkpoint(
    session: AsyncSession,
    actor: Actor,
    route_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    expected_version: int | None,
) -> None:
    """Remove a checkpoint nobody has checked in at yet (one with check-ins stays: 409)."""
    checkpoint = await _checkpoint_to_change(session, actor, route_id, checkpoint_id, expected_version)
    await session.delete(checkpoint)
    try:
        await session.flush()
    except IntegrityError as exc:  # check-ins refer to it
        raise CheckpointInUse(
            f"check-ins were made at the checkpoint {checkpoint_id}: it stays (move it or rotate its code)",
            zh=f"巡防点 {checkpoint_id} 已有打卡记录，不能删除（可调整其位置或更换点位码）",
        ) from exc
    changes = {"route_id": str(route_id), "name": checkpoint.name, "position": checkpoint.position}
    await _record(session, actor, "delete", checkpoint, changes)
