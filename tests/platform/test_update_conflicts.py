"""A unique-constraint clash is the same 409 on update as on create, on every route that edits a record.

The route table is walked: every body field of every PATCH and PUT route is either a clash case below (the
edit is refused with the create's ``code`` and problem members, and the record keeps its value and version)
or listed as covered by no unique constraint. A new route, or a new field on one, fails here until it is
classified.
"""

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlmodel import select

from tests.world import World, id_card_number
from yijing.access import Role
from yijing.org.errors import StationNameTaken
from yijing.org.models import Station
from yijing_api.deps import SessionDep
from yijing_api.main import create_app


@dataclass(frozen=True)
class Clash:
    """Changing a field of the record the route's path names into ``value``, which another record holds;
    ``create`` (path, body) is a POST that clashes on the same constraint."""

    path_params: dict[str, str]
    value: object
    create: tuple[str, dict[str, object]]
    extra: dict[str, str] = field(default_factory=dict)  # problem members naming the holder


Arrange = Callable[[httpx.AsyncClient, World], Awaitable[Clash]]


async def _post(client: httpx.AsyncClient, world: World, path: str, body: dict[str, object]) -> dict:
    response = await client.post(path, json=body, headers=world.headers(Role.ADMIN))
    assert response.status_code == 201, response.text
    return response.json()


def _user_body(world: World, phone: str, serial: int) -> dict[str, object]:
    return {
        "name": "陈阿姨", "phone": phone, "password": "a long enough password", "role": "volunteer",
        "station_id": str(world.own.station.id), "id_card_number": id_card_number(serial),
    }  # fmt: skip


def _volunteer_body(world: World, serial: int, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": f"陈美华{serial}", "gender": "female", "phone": f"136{serial:08d}",
        "id_card_number": id_card_number(serial), "site_id": str(world.own.site.id),
        "source": "stall_operator",
    }  # fmt: skip
    return body | fields


async def station_name(client: httpx.AsyncClient, world: World) -> Clash:
    name = world.other.station.name
    return Clash(
        {"station_id": str(world.own.station.id)}, name,
        ("/api/v1/stations", {"name": name, "division_code": "350121"}),
    )  # fmt: skip


async def site_name(client: httpx.AsyncClient, world: World) -> Clash:
    body: dict[str, object] = {"station_id": str(world.own.station.id), "name": "万家广场", "kind": "plaza"}
    sibling = await _post(client, world, "/api/v1/sites", body)
    name = world.own.site.name
    return Clash({"site_id": sibling["id"]}, name, ("/api/v1/sites", body | {"name": name}))


async def user_phone(client: httpx.AsyncClient, world: World) -> Clash:
    phone = world.phones[world.user(Role.LEADER).id]
    target = world.user(Role.VOLUNTEER)
    return Clash({"user_id": str(target.id)}, phone, ("/api/v1/users", _user_body(world, phone, 77)))


async def user_id_card(client: httpx.AsyncClient, world: World) -> Clash:
    await _post(client, world, "/api/v1/users", _user_body(world, "13712345678", 77))
    target = world.user(Role.VOLUNTEER)
    card = id_card_number(77)
    return Clash({"user_id": str(target.id)}, card, ("/api/v1/users", _user_body(world, "13712345679", 77)))


async def volunteer_badge(client: httpx.AsyncClient, world: World) -> Clash:
    holder = await _post(
        client, world, "/api/v1/volunteers", _volunteer_body(world, 1, badge_number="GZ-0001")
    )
    assert world.own.volunteer is not None
    return Clash(
        {"volunteer_id": str(world.own.volunteer.id)}, "GZ-0001",
        ("/api/v1/volunteers", _volunteer_body(world, 2, badge_number="GZ-0001")),
        {"existing_volunteer_id": holder["id"]},
    )  # fmt: skip


async def volunteer_id_card(client: httpx.AsyncClient, world: World) -> Clash:
    target = await _post(client, world, "/api/v1/volunteers", _volunteer_body(world, 1))
    assert world.own.volunteer is not None
    card = id_card_number(900)  # the world's own volunteer's
    return Clash(
        {"volunteer_id": target["id"]}, card,
        ("/api/v1/volunteers", _volunteer_body(world, 2, id_card_number=card)),
        {"existing_volunteer_id": str(world.own.volunteer.id)},
    )  # fmt: skip


async def volunteer_account(client: httpx.AsyncClient, world: World) -> Clash:
    target = await _post(client, world, "/api/v1/volunteers", _volunteer_body(world, 1))
    account = str(world.user(Role.VOLUNTEER).id)  # linked to the world's own volunteer
    return Clash(
        {"volunteer_id": target["id"]}, account,
        ("/api/v1/volunteers", _volunteer_body(world, 2, user_id=account)),
    )  # fmt: skip


async def group_name(client: httpx.AsyncClient, world: World) -> Clash:
    body: dict[str, object] = {"site_id": str(world.own.site.id), "name": "第2组"}
    sibling = await _post(client, world, "/api/v1/groups", body)
    assert world.own.group is not None
    name = world.own.group.name
    return Clash({"group_id": sibling["id"]}, name, ("/api/v1/groups", body | {"name": name}))


async def patrol_route_name(client: httpx.AsyncClient, world: World) -> Clash:
    body: dict[str, object] = {"site_id": str(world.own.site.id), "name": "夜市东环线"}
    sibling = await _post(client, world, "/api/v1/patrol-routes", body)
    assert world.own.route is not None
    name = world.own.route.name
    return Clash({"route_id": sibling["id"]}, name, ("/api/v1/patrol-routes", body | {"name": name}))


# operation id -> body field -> how to edit it into a clash
CLASHES: dict[str, dict[str, Arrange]] = {
    "stations_update": {"name": station_name},
    "sites_update": {"name": site_name},
    "users_update": {"phone": user_phone, "id_card_number": user_id_card},
    "volunteers_update": {
        "badge_number": volunteer_badge,
        "id_card_number": volunteer_id_card,
        "user_id": volunteer_account,
    },
    "groups_update": {"name": group_name},
    "patrol_routes_update": {"name": patrol_route_name},
}
# operation id -> the body fields no unique constraint covers
NO_UNIQUE_FIELD: dict[str, set[str]] = {
    "stations_update": {"division_code", "timezone"},
    "sites_update": {"kind", "location"},
    "users_update": {"name", "password", "role", "site_ids", "is_active"},
    "volunteers_update": {
        "name",
        "gender",
        "phone",
        "site_id",
        "source",
        "household_name",
        "household_address",
        "skills",
        "joined_on",
    },
    "groups_update": {"target_size", "horizon_weeks"},
    "me_update": {"name", "password"},
    "me_volunteer_update": {"household_address", "skills"},
    "hazards_update": {
        "site_id",
        "category",
        "severity",
        "source",
        "description",
        "location",
        "address",
        "responsible_party",
        "deadline",
    },
    "hazards_set_deadline_rules": {"days"},
    "disputes_update": {
        "site_id",
        "kind",
        "address",
        "location",
        "occurred_at",
        "account",
        "risk_of_violence",
    },
    "disputes_set_settings": {"followup_days"},
    "patrol_routes_update": {"description"},
    # A checkpoint's code (unique in its station) changes only through rotate-code, a POST.
    "patrol_routes_checkpoints_update": {"name", "position", "location", "radius_m"},
    "patrols_update": {"planned_start", "planned_end", "leader_volunteer_id"},
    "patrol_plans_update": {
        "group_id",
        "volunteer_ids",
        "leader_volunteer_id",
        "weekdays",
        "start_time",
        "end_time",
        "first_day",
        "last_day",
        "horizon_days",
    },
    "trainings_update": {
        "title",
        "topics",
        "mode",
        "starts_at",
        "ends_at",
        "place",
        "meeting_url",
        "trainer",
        "required",
        "audience",
    },
    "trainings_set_minutes": {"minutes"},
    "trainings_set_rules": {"online_present_percent", "late_after_minutes"},
}


def edit_routes() -> dict[str, tuple[str, str, type[BaseModel]]]:
    """operation id -> (method, path, body model) of every PATCH and PUT route."""
    routes = {}
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        methods = (context.methods or set()) & {"PATCH", "PUT"}
        if isinstance(route, APIRoute) and methods and route.body_field is not None:
            model = route.body_field.field_info.annotation
            assert isinstance(model, type), route.path
            assert issubclass(model, BaseModel), route.path
            [method] = methods
            routes[route.operation_id or route.path] = (method, context.path or route.path, model)
    return routes


EDIT_ROUTES = edit_routes()
CASES = [(operation, name) for operation, fields in CLASHES.items() for name in fields]


def test_every_field_of_every_edit_route_is_a_clash_case_or_covered_by_no_unique_constraint():
    assert set(EDIT_ROUTES) == set(NO_UNIQUE_FIELD) | set(CLASHES), "classify every PATCH/PUT route here"
    for operation, (_, _, model) in EDIT_ROUTES.items():
        cases, plain = set(CLASHES.get(operation, {})), NO_UNIQUE_FIELD.get(operation, set())
        assert not cases & plain, operation
        assert cases | plain == set(model.model_fields), f"classify every body field of {operation}"


# Members every problem has; the others (e.g. the id of the record that holds the value) must match.
COMMON_MEMBERS = {"type", "title", "status", "detail", "instance", "code", "request_id"}


@pytest.mark.parametrize(("operation", "name"), CASES, ids=[f"{op}.{name}" for op, name in CASES])
async def test_an_edit_into_a_clash_is_the_create_clash_and_changes_nothing(client, world, operation, name):
    method, path, _ = EDIT_ROUTES[operation]
    clash = await CLASHES[operation][name](client, world)
    headers = world.headers(Role.ADMIN)
    created = await client.post(clash.create[0], json=clash.create[1], headers=headers)
    assert created.status_code == 409, created.text
    url = path
    for parameter, value in clash.path_params.items():
        url = re.sub(rf"{{{parameter}(:\w+)?}}", value, url)
    before = await client.get(url, headers=headers)
    assert before.status_code == 200, before.text

    response = await client.request(
        method, url, json={name: clash.value}, headers=headers | {"If-Match": before.headers["etag"]}
    )

    assert response.status_code == 409, response.text
    problem, create_problem = response.json(), created.json()
    assert problem["code"] == create_problem["code"]
    extra = {key: value for key, value in problem.items() if key not in COMMON_MEMBERS}
    assert extra == {key: value for key, value in create_problem.items() if key not in COMMON_MEMBERS}
    assert extra == clash.extra
    for holder in clash.extra.values():
        assert holder in problem["detail"]
    after = await client.get(url, headers=headers)
    assert after.json() == before.json()
    assert after.headers["etag"] == before.headers["etag"]


def _renames_without_flushing(app: FastAPI) -> None:
    @app.post("/rename-station/{station_id}")
    async def rename(station_id: uuid.UUID, name: str, session: SessionDep) -> None:
        station = await session.get(Station, station_id)
        assert station is not None
        station.name = name  # reaches the database only at the edge's commit


async def test_a_clash_that_surfaces_only_at_the_commit_is_still_the_domain_error(
    make_client, world, session_factory
):
    client = await make_client(customise=_renames_without_flushing)
    response = await client.post(
        f"/rename-station/{world.own.station.id}", params={"name": world.other.station.name}
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == StationNameTaken.code
    async with session_factory() as session:
        names = set(await session.scalars(select(Station.name)))
    assert names == {world.own.station.name, world.other.station.name}
