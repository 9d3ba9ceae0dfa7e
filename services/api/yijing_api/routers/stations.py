"""Police stations (派出所)."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from yijing.access import ADMINS, EVERY_ROLE, Actor, ApiScope
from yijing.kit.pagination import Page
from yijing.org import service
from yijing.org.schemas import StationCreate, StationFilters, StationRead, StationUpdate
from yijing_api.auth import Access
from yijing_api.deps import SessionDep, SettingsDep
from yijing_api.openapi import sends
from yijing_api.params import IfMatch, PageQuery, set_etag, version_of
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/stations", tags=["stations"])

READERS = Access(EVERY_ROLE, frozenset({ApiScope.STATS_READ}))
WRITERS = Access(ADMINS)


@router.get(
    "",
    operation_id="stations_list",
    summary="Stations the caller reaches",
    responses=problem_responses(401, 403, 422),
)
async def list_stations(
    session: SessionDep,
    actor: Annotated[Actor, Depends(READERS)],
    page: PageQuery,
    filters: Annotated[StationFilters, Query()],
) -> Page[StationRead]:
    return await service.list_stations(session, actor, filters, page)


@router.post(
    "",
    operation_id="stations_create",
    summary="Create a station (county admins)",
    status_code=status.HTTP_201_CREATED,
    responses={201: sends("Location", "ETag"), **problem_responses(401, 403, 409, 422)},
)
async def create_station(
    data: StationCreate,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    actor: Annotated[Actor, Depends(WRITERS)],
) -> StationRead:
    station = await service.create_station(session, actor, data, settings.timezone)
    response.headers["Location"] = f"/api/v1/stations/{station.id}"
    set_etag(response, station.version)
    return StationRead.of(station)


@router.get(
    "/{station_id}",
    operation_id="stations_get",
    summary="A station",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 422)},
)
async def get_station(
    station_id: uuid.UUID, session: SessionDep, response: Response, actor: Annotated[Actor, Depends(READERS)]
) -> StationRead:
    station = await service.read_station(session, actor, station_id)
    set_etag(response, station.version)
    return station


@router.patch(
    "/{station_id}",
    operation_id="stations_update",
    summary="Change a station (county admins)",
    responses={200: sends("ETag"), **problem_responses(401, 403, 404, 409, 412, 422)},
)
async def update_station(
    station_id: uuid.UUID,
    data: StationUpdate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(WRITERS)],
    if_match: IfMatch = None,
) -> StationRead:
    station = await service.update_station(session, actor, station_id, data, version_of(if_match))
    set_etag(response, station.version)
    return StationRead.of(station)


@router.delete(
    "/{station_id}",
    operation_id="stations_delete",
    summary="Delete a station with no sites or users (county admins)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
async def delete_station(
    station_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(WRITERS)],
    if_match: IfMatch = None,
) -> None:
    await service.delete_station(session, actor, station_id, version_of(if_match))
