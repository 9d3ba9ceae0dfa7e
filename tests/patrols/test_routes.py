"""Patrol routes and their checkpoints: planning, order, codes shown to staff only, clashes, If-Match, the
retire action from every status, deletion, scoping and audit."""

import re

import pytest
from sqlalchemy import delete, func, select
from sqlmodel import col

from yijing.access import Role
from yijing.db import session_scope
from yijing.patrols.checkins.models import PatrolCheckin
from yijing.patrols.logs.models import PatrolLog
from yijing.patrols.models import Patrol
from yijing.patrols.plans.models import PatrolPlan
from yijing.patrols.routes.models import PatrolCheckpoint, RouteStatus
from yijing.patrols.routes.service import LIFECYCLE, RouteAction

ROUTES = "/api/v1/patrol-routes"
STAFF_ROLES = (Role.ASSISTANT, Role.OFFICER, Role.LEADER, Role.ADMIN)
POINT = {"latitude": 26.1496, "longitude": 119.1421}


def route_url(route_id, *rest: object) -> str:
    return "/".join([f"{ROUTES}/{route_id}", *(str(part) for part in rest)])


def checkpoint_url(route_id, checkpoint_id, *rest: object) -> str:
    return route_url(route_id, "checkpoints", checkpoint_id, *rest)


def checkpoint_body(name: str = "入口", **fields) -> dict:
    return {"name": name, "location": POINT} | fields


async def new_route(client, world, role: Role = Role.OFFICER, place: str = "own", **fields) -> dict:
    body = {"site_id": str(getattr(world, place).site.id), "name": "广场巡防路线"} | fields
    response = await client.post(ROUTES, json=body, headers=world.headers(role))
    assert response.status_code == 201, response.text
    return response.json()


async def add_checkpoint(client, world, route_id, role: Role = Role.OFFICER, **fields) -> dict:
    response = await client.post(
        route_url(route_id, "checkpoints"), json=checkpoint_body(**fields), headers=world.headers(role)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def unplan(session_factory, route_id) -> None:
    """Remove the patrols and repeating plans on the route, the patrols' check-ins and log entries (the world
    has one of each on each world route): a route patrols or plans refer to cannot be deleted."""
    async with session_scope(session_factory) as session:
        await session.execute(delete(PatrolPlan).where(col(PatrolPlan.route_id) == route_id))
        patrols = select(col(Patrol.id)).where(col(Patrol.route_id) == route_id)
        await session.execute(delete(PatrolCheckin).where(col(PatrolCheckin.patrol_id).in_(patrols)))
        await session.execute(delete(PatrolLog).where(col(PatrolLog.patrol_id).in_(patrols)))
        await session.execute(delete(Patrol).where(col(Patrol.route_id) == route_id))


async def audit_actions(client, world, target_id) -> list[str]:
    events = await client.get(
        "/api/v1/audit-events", params={"target_id": str(target_id)}, headers=world.headers(Role.ADMIN)
    )
    return sorted(event["action"] for event in events.json()["items"])


async def test_staff_plan_a_route_and_its_checkpoints_in_order(client, world):
    officer = world.headers(Role.OFFICER)
    body = {"site_id": str(world.own.site.id), "name": "夜市东段", "description": "每晚 19:00 起"}
    created = await client.post(ROUTES, json=body, headers=officer)
    assert created.status_code == 201, created.text
    route = created.json()
    assert created.headers["location"] == f"{ROUTES}/{route['id']}"
    assert created.headers["etag"] == '"1"'
    assert (route["station_id"], route["status"], route["allowed_actions"]) == (
        str(world.own.station.id), "in_use", ["retire"],
    )  # fmt: skip
    assert route["checkpoints"] == []

    first = await add_checkpoint(client, world, route["id"], name="东入口")
    second = await add_checkpoint(client, world, route["id"], name="烧烤区", radius_m=50)
    inserted = await add_checkpoint(client, world, route["id"], name="消防栓", position=2, code="fire-H2O")
    assert (first["position"], second["position"], inserted["position"]) == (1, 2, 2)
    assert first["radius_m"] == 30
    assert second["radius_m"] == 50
    assert first["location"] == POINT
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", first["code"])
    assert first["code"] != second["code"]
    assert inserted["code"] == "fire-H2O"

    read = await client.get(route_url(route["id"]), headers=world.headers(Role.VOLUNTEER))
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    # By position, then by when they were added.
    assert [point["name"] for point in read.json()["checkpoints"]] == ["东入口", "烧烤区", "消防栓"]
    assert await audit_actions(client, world, route["id"]) == ["patrol_route.create"]
    assert await audit_actions(client, world, inserted["id"]) == ["patrol_checkpoint.create"]


async def test_a_checkpoint_added_to_a_route_comes_last_and_says_where(client, world):
    route = world.own.route
    added = await client.post(
        route_url(route.id, "checkpoints"),
        json=checkpoint_body("出口"),
        headers=world.headers(Role.ASSISTANT),
    )
    assert added.status_code == 201, added.text
    assert added.json()["position"] == 2
    assert added.headers["location"] == checkpoint_url(route.id, added.json()["id"])
    assert added.headers["etag"] == '"1"'


@pytest.mark.parametrize("role", [*STAFF_ROLES, Role.VOLUNTEER, "key"])
async def test_codes_are_shown_to_staff_only(client, world, role):
    headers = {"X-API-Key": world.api_keys["stats"][1]} if role == "key" else world.headers(role)
    read = await client.get(route_url(world.own.route.id), headers=headers)
    assert read.status_code == 200, read.text
    [checkpoint] = read.json()["checkpoints"]
    assert checkpoint["id"] == str(world.own.checkpoint.id)
    assert checkpoint["code"] == (world.own.checkpoint.code if role in STAFF_ROLES else None)


# Every write, with a body it would accept: refused for the caller alone.
WRITES = [
    ("POST", "", {"site_id": "{site}", "name": "x"}),
    ("PATCH", "/{route}", {"name": "x"}),
    ("DELETE", "/{route}", None),
    ("POST", "/{route}/retire", None),
    ("POST", "/{route}/checkpoints", checkpoint_body()),
    ("PATCH", "/{route}/checkpoints/{checkpoint}", {"name": "x"}),
    ("POST", "/{route}/checkpoints/{checkpoint}/rotate-code", None),
    ("DELETE", "/{route}/checkpoints/{checkpoint}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_volunteers_and_api_keys_read_routes_but_do_not_plan_them(client, world, method, path, body):
    url = ROUTES + path.format(route=world.own.route.id, checkpoint=world.own.checkpoint.id)
    if body is not None and body.get("site_id") == "{site}":
        body = body | {"site_id": str(world.own.site.id)}
    for headers in (world.headers(Role.VOLUNTEER), {"X-API-Key": world.api_keys["all"][1]}):
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, response.text
    listed = await client.get(ROUTES, headers=world.headers(Role.VOLUNTEER))
    assert [route["id"] for route in listed.json()["items"]] == [str(world.own.route.id)]


async def test_another_stations_routes_and_checkpoints_are_not_found(client, world):
    leader = world.headers(Role.LEADER)
    other_route, other_point = world.other.route.id, world.other.checkpoint.id
    for method, url, body in (
        ("GET", route_url(other_route), None),
        ("PATCH", route_url(other_route), {"name": "x"}),
        ("DELETE", route_url(other_route), None),
        ("POST", route_url(other_route, "retire"), None),
        ("POST", route_url(other_route, "checkpoints"), checkpoint_body()),
        ("PATCH", checkpoint_url(other_route, other_point), {"name": "x"}),
        ("POST", checkpoint_url(other_route, other_point, "rotate-code"), None),
        ("DELETE", checkpoint_url(other_route, other_point), None),
    ):
        response = await client.request(method, url, json=body, headers=leader)
        assert response.status_code == 404, f"{method} {url}: {response.text}"
        assert response.json()["code"] == "patrol_route_not_found"
    elsewhere = {"site_id": str(world.other.site.id), "name": "x"}
    refused = await client.post(ROUTES, json=elsewhere, headers=leader)
    assert refused.status_code == 404
    assert refused.json()["code"] == "site_not_found"
    everything = await client.get(ROUTES, headers=world.headers(Role.ADMIN))
    assert {route["id"] for route in everything.json()["items"]} == {
        str(world.own.route.id), str(world.other.route.id),
    }  # fmt: skip


async def test_a_checkpoint_of_another_route_is_not_found(client, world):
    route = await new_route(client, world)
    point = world.own.checkpoint.id
    officer = world.headers(Role.OFFICER)
    for method, url, body in (
        ("PATCH", checkpoint_url(route["id"], point), {"name": "x"}),
        ("POST", checkpoint_url(route["id"], point, "rotate-code"), None),
        ("DELETE", checkpoint_url(route["id"], point), None),
    ):
        response = await client.request(method, url, json=body, headers=officer)
        assert response.status_code == 404, f"{method} {url}: {response.text}"
        assert response.json()["code"] == "checkpoint_not_found"


async def test_route_names_are_unique_per_site(client, world):
    await new_route(client, world, Role.ADMIN, name="夜市西段")
    await new_route(client, world, Role.ADMIN, place="other", name="夜市西段")  # another site: fine
    again = await client.post(
        ROUTES,
        json={"site_id": str(world.own.site.id), "name": "夜市西段"},
        headers=world.headers(Role.OFFICER),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "route_name_taken"
    renamed = await client.patch(
        route_url(world.own.route.id), json={"name": "夜市西段"}, headers=world.headers(Role.OFFICER)
    )
    assert renamed.status_code == 409
    assert renamed.json()["code"] == "route_name_taken"


async def test_checkpoint_codes_are_unique_per_station(client, world):
    taken = world.own.checkpoint.code
    route = await new_route(client, world)
    clash = await client.post(
        route_url(route["id"], "checkpoints"),
        json=checkpoint_body(code=taken),
        headers=world.headers(Role.OFFICER),
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "checkpoint_code_taken"
    other = await new_route(client, world, Role.ADMIN, place="other")
    await add_checkpoint(client, world, other["id"], Role.ADMIN, code=taken)  # another station: fine
    mine = await add_checkpoint(client, world, route["id"])
    rotated = await client.post(
        checkpoint_url(route["id"], mine["id"], "rotate-code"), json={"code": taken},
        headers=world.headers(Role.OFFICER),
    )  # fmt: skip
    assert rotated.status_code == 409
    assert rotated.json()["code"] == "checkpoint_code_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "body.name"),
        ({"name": "x" * 101}, "body.name"),
        ({"location": {"latitude": 90.5, "longitude": 119.1}}, "body.location.latitude"),
        ({"location": {"latitude": 26.1, "longitude": -180.5}}, "body.location.longitude"),
        ({"location": {"latitude": 26.1}}, "body.location.longitude"),
        ({"radius_m": 4}, "body.radius_m"),
        ({"radius_m": 2001}, "body.radius_m"),
        ({"radius_m": "30"}, "body.radius_m"),
        ({"position": 0}, "body.position"),
        ({"code": "abc12"}, "body.code"),
        ({"code": "x" * 65}, "body.code"),
        ({"code": "tag code!"}, "body.code"),
        ({"colour": "red"}, "body.colour"),
    ],
)
async def test_a_bad_checkpoint_is_422_naming_the_field(client, world, body, field):
    response = await client.post(
        route_url(world.own.route.id, "checkpoints"), json=checkpoint_body() | body,
        headers=world.headers(Role.OFFICER),
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": " "}, "body.name"),
        ({"description": "x" * 501}, "body.description"),
        ({"site_id": "night-market"}, "body.site_id"),
    ],
)
async def test_a_bad_route_is_422_naming_the_field(client, world, body, field):
    full = {"site_id": str(world.own.site.id), "name": "x"} | body
    response = await client.post(ROUTES, json=full, headers=world.headers(Role.OFFICER))
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_retired_is_a_true_or_false_word(client, world):
    response = await client.get(ROUTES, params={"retired": "yes"}, headers=world.headers(Role.OFFICER))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.retired"


async def test_route_edits_honour_if_match(client, world):
    officer = world.headers(Role.OFFICER)
    url = route_url(world.own.route.id)
    changed = await client.patch(url, json={"description": "夜间"}, headers=officer | {"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["description"] == "夜间"
    assert len(changed.json()["checkpoints"]) == 1
    stale = {"If-Match": '"1"'}
    assert (await client.patch(url, json={"name": "y"}, headers=officer | stale)).status_code == 412
    assert (
        await client.post(route_url(world.own.route.id, "retire"), headers=officer | stale)
    ).status_code == 412
    assert (await client.delete(url, headers=officer | stale)).status_code == 412
    unchanged = await client.patch(url, json={"description": "夜间", "name": None}, headers=officer)
    assert unchanged.headers["etag"] == '"2"'  # nothing really changed
    cleared = await client.patch(url, json={"description": None}, headers=officer | {"If-Match": '"2"'})
    assert cleared.json()["description"] is None
    assert cleared.json()["name"] == world.own.route.name
    assert cleared.json()["version"] == 3
    assert await audit_actions(client, world, world.own.route.id) == ["patrol_route.update"] * 2


async def test_checkpoint_edits_honour_if_match_and_reorder_the_route(client, world):
    officer = world.headers(Role.OFFICER)
    route_id = world.own.route.id
    later = await add_checkpoint(client, world, route_id, name="西入口")
    url = checkpoint_url(route_id, world.own.checkpoint.id)
    moved = {
        "position": 5,
        "radius_m": 80,
        "location": {"latitude": 26.15, "longitude": 119.14},
        "name": None,
    }
    changed = await client.patch(url, json=moved, headers=officer | {"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert (changed.json()["position"], changed.json()["radius_m"]) == (5, 80)
    assert changed.json()["location"] == {"latitude": 26.15, "longitude": 119.14}
    assert changed.json()["name"] == world.own.checkpoint.name
    order = (await client.get(route_url(route_id), headers=officer)).json()["checkpoints"]
    assert [point["id"] for point in order] == [later["id"], str(world.own.checkpoint.id)]
    stale = officer | {"If-Match": '"1"'}
    assert (await client.patch(url, json={"name": "y"}, headers=stale)).status_code == 412
    assert (await client.post(f"{url}/rotate-code", headers=stale)).status_code == 412
    assert (await client.delete(url, headers=stale)).status_code == 412
    assert (await client.patch(url, json={"position": 5}, headers=officer)).headers["etag"] == '"2"'
    assert await audit_actions(client, world, world.own.checkpoint.id) == ["patrol_checkpoint.update"]


async def test_rotating_a_code_replaces_it(client, world):
    officer = world.headers(Role.OFFICER)
    route_id, old = world.own.route.id, world.own.checkpoint.code
    url = checkpoint_url(route_id, world.own.checkpoint.id, "rotate-code")
    generated = await client.post(url, headers=officer | {"If-Match": '"1"'})
    assert generated.status_code == 200, generated.text
    assert generated.headers["etag"] == '"2"'
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", generated.json()["code"])
    assert generated.json()["code"] != old
    # The old tag names nothing now: another checkpoint may carry it.
    assert (await add_checkpoint(client, world, route_id, code=old))["code"] == old
    given = await client.post(url, json={"code": "04A224B2C31F90"}, headers=officer)
    assert (given.json()["code"], given.json()["version"]) == ("04A224B2C31F90", 3)
    same = await client.post(url, json={"code": "04A224B2C31F90"}, headers=officer)
    assert same.json()["version"] == 3  # already its code: nothing changes
    events = await client.get(
        "/api/v1/audit-events", params={"action": "patrol_checkpoint.rotate_code"},
        headers=world.headers(Role.ADMIN),
    )  # fmt: skip
    changes = [event["changes"] for event in events.json()["items"]]
    assert sorted(change["code"] for change in changes) == ["[generated]", "[given]"]
    assert "04A224B2C31F90" not in events.text


async def route_in(client, world, status: RouteStatus, name: str) -> dict:
    """A new route of the own site in ``status``."""
    route = await new_route(client, world, name=name)
    if status is RouteStatus.RETIRED:
        retired = await client.post(route_url(route["id"], "retire"), headers=world.headers(Role.OFFICER))
        assert retired.status_code == 200, retired.text
        route = retired.json()
    assert route["status"] == status
    return route


@pytest.mark.parametrize("action", list(RouteAction))
async def test_every_action_from_every_status(action, client, world):
    sources, target = LIFECYCLE[action]
    headers = world.headers(Role.ASSISTANT)
    for status in RouteStatus:
        route = await route_in(client, world, status, name=f"{action} from {status}")
        response = await client.post(
            route_url(route["id"], action), headers=headers | {"If-Match": f'"{route["version"]}"'}
        )
        if status in sources:
            assert response.status_code == 200, f"{status} → {action}: {response.text}"
            changed = response.json()
            assert changed["status"] == target
            assert changed["version"] == route["version"] + 1
            assert response.headers["etag"] == f'"{changed["version"]}"'
            assert changed["allowed_actions"] == [str(name) for name in LIFECYCLE.allowed(target)]
            assert f"patrol_route.{action}" in await audit_actions(client, world, route["id"])
        else:
            assert response.status_code == 409, f"{status} → {action}: {response.text}"
            problem = response.json()
            assert problem["code"] == "transition_not_allowed"
            assert problem["current_status"] == status
            assert problem["allowed_actions"] == [str(name) for name in LIFECYCLE.allowed(status)]


async def test_a_retired_route_keeps_its_checkpoints_and_refuses_changes(client, world, session_factory):
    officer = world.headers(Role.OFFICER)
    route_id, point = world.own.route.id, world.own.checkpoint.id
    retired = await client.post(route_url(route_id, "retire"), headers=officer)
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_at"] is not None
    assert [item["id"] for item in retired.json()["checkpoints"]] == [str(point)]
    in_use = await client.get(ROUTES, headers=officer)
    assert in_use.json()["items"] == []
    listed = await client.get(ROUTES, params={"retired": "true"}, headers=officer)
    assert [route["id"] for route in listed.json()["items"]] == [str(route_id)]
    for method, url, body in (
        ("PATCH", route_url(route_id), {"name": "x"}),
        ("POST", route_url(route_id, "checkpoints"), checkpoint_body()),
        ("PATCH", checkpoint_url(route_id, point), {"name": "x"}),
        ("POST", checkpoint_url(route_id, point, "rotate-code"), None),
        ("DELETE", checkpoint_url(route_id, point), None),
    ):
        response = await client.request(method, url, json=body, headers=officer)
        assert response.status_code == 409, f"{method} {url}: {response.text}"
        assert response.json()["code"] == "route_retired"
    # Still deletable: a retired route planned by mistake (no patrol refers to it).
    await unplan(session_factory, route_id)
    assert (await client.delete(route_url(route_id), headers=officer)).status_code == 204


async def test_deleting_a_route_deletes_its_checkpoints(client, world, session_factory):
    officer = world.headers(Role.OFFICER)
    route_id = world.own.route.id
    second = await add_checkpoint(client, world, route_id)
    await unplan(session_factory, route_id)
    deleted = await client.delete(route_url(route_id), headers=officer | {"If-Match": '"1"'})
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(route_url(route_id), headers=officer)).status_code == 404
    async with session_factory() as session:
        left = await session.scalar(select(func.count()).where(col(PatrolCheckpoint.route_id) == route_id))
    assert left == 0
    events = await client.get(
        "/api/v1/audit-events", params={"action": "patrol_route.delete"}, headers=world.headers(Role.ADMIN)
    )
    [event] = events.json()["items"]
    assert sorted(event["changes"]["checkpoint_ids"]) == sorted([str(world.own.checkpoint.id), second["id"]])


async def test_removing_a_checkpoint(client, world):
    officer = world.headers(Role.OFFICER)
    route_id, used = world.own.route.id, world.own.checkpoint.id
    # The world's checkpoint has a check-in: it stays.
    refused = await client.delete(checkpoint_url(route_id, used), headers=officer)
    assert (refused.status_code, refused.json()["code"]) == (409, "checkpoint_in_use")
    body = {"name": "西口", "location": {"latitude": 26.1495, "longitude": 119.1403}}
    added = await client.post(f"{route_url(route_id)}/checkpoints", json=body, headers=officer)
    point = added.json()["id"]
    removed = await client.delete(checkpoint_url(route_id, point), headers=officer | {"If-Match": '"1"'})
    assert removed.status_code == 204, removed.text
    remaining = (await client.get(route_url(route_id), headers=officer)).json()["checkpoints"]
    assert [checkpoint["id"] for checkpoint in remaining] == [str(used)]
    again = await client.delete(checkpoint_url(route_id, point), headers=officer)
    assert again.status_code == 404
    assert await audit_actions(client, world, point) == [
        "patrol_checkpoint.create",
        "patrol_checkpoint.delete",
    ]


async def test_routes_are_listed_by_site_a_page_at_a_time(client, world):
    admin = world.headers(Role.ADMIN)
    made = [await new_route(client, world, Role.ADMIN, name=f"路线{number}") for number in range(3)]
    own_site = {"site_id": str(world.own.site.id)}
    first = await client.get(ROUTES, params=own_site | {"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    rest = await client.get(
        ROUTES, params=own_site | {"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    assert rest.json()["next_cursor"] is None
    ids = [route["id"] for page in (first, rest) for route in page.json()["items"]]
    assert ids == [str(world.own.route.id), *(route["id"] for route in made)]
    assert "checkpoints" not in first.json()["items"][0]
    other_site = await client.get(ROUTES, params={"site_id": str(world.other.site.id)}, headers=admin)
    assert [route["id"] for route in other_site.json()["items"]] == [str(world.other.route.id)]


async def test_a_site_with_a_route_cannot_be_deleted(client, world):
    leader = world.headers(Role.LEADER)
    body = {"station_id": str(world.own.station.id), "name": "万家广场", "kind": "plaza"}
    site = (await client.post("/api/v1/sites", json=body, headers=leader)).json()
    route = {"site_id": site["id"], "name": "广场巡防路线"}
    assert (await client.post("/api/v1/patrol-routes", json=route, headers=leader)).status_code == 201
    english = leader | {"Accept-Language": "en"}  # the detail's English names what holds the site
    response = await client.delete(f"/api/v1/sites/{site['id']}", headers=english)
    assert response.status_code == 409
    assert response.json()["code"] == "site_in_use"
    assert "patrol routes" in response.json()["detail"]
