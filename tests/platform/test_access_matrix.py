"""Every route × every kind of caller × own and other station, generated from the app's route table and
each route's access declaration. A route added without a declaration fails here; one added with a
declaration is covered without touching this file (a new path parameter is described in tests/world.py).

What it proves: anonymous callers get 401 except on public routes; a role or API key outside the
declaration gets 403; an allowed caller is never refused for its identity, and another station's record
(or another user's) is 404 for every caller that does not reach it.
"""

import re
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from tests.world import CALLER_OWNED, KEY_SCOPES, PATH_PARAMETERS, STATION_SCOPED, World, path_value
from yijing.access import Role
from yijing_api.auth import Access, Public
from yijing_api.main import create_app


def declaration(route: APIRoute) -> Access | Public | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, Access | Public):
            return dependency.call
        pending.extend(dependency.dependencies)
    return None


def api_routes() -> list[tuple[str, str, APIRoute]]:
    routes: list[tuple[str, str, APIRoute]] = []
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path and context.methods:
            routes.extend((method, context.path, route) for method in sorted(context.methods))
    return routes


def refused_body(response) -> bool:
    problem = response.json()
    errors = problem.get("errors") or []
    return response.status_code == 422 and bool(errors) and all(e["field"].startswith("body") for e in errors)


ROUTES = api_routes()
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role | None = None  # a signed-in user of this role (own station, or county-wide for admin)
    api_key: str | None = None  # or an API key of the world (own station)

    def headers(self, world: World) -> dict[str, str]:
        if self.role is not None:
            return world.headers(self.role)
        if self.api_key is not None:
            return {"X-API-Key": world.api_keys[self.api_key][1]}
        return {}


# API keys first and the admin last: some calls change the world (an admin revokes a key, a user logs out).
CALLERS = [
    Caller("anonymous"),
    Caller("key:stats", api_key="stats"),
    Caller("key:all", api_key="all"),
    *(Caller(role.value, role=role) for role in (Role.VOLUNTEER, Role.ASSISTANT, Role.OFFICER, Role.LEADER)),
    Caller("admin", role=Role.ADMIN),
]


def allowed(access: Access, caller: Caller) -> bool:
    if caller.role is not None:
        return caller.role in access.roles
    return bool(set(KEY_SCOPES[caller.api_key or ""]) & access.api_scopes)


@pytest.mark.parametrize("route", [route for _, _, route in ROUTES], ids=ROUTE_IDS)
def test_every_route_declares_who_may_call_it(route):
    assert declaration(route) is not None, (
        f"{route.path} has no access declaration: add Depends(Access(...)) or Depends(PUBLIC)"
    )


@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=ROUTE_IDS)
async def test_access_matrix(method, path, route, world, make_client):
    access = declaration(route)
    client = await make_client()
    parameters = [name for name in route.param_convertors]
    for name in parameters:
        assert name in PATH_PARAMETERS, f"describe the path parameter {name!r} in tests/world.py"
    places = ("own", "other") if parameters else ("own",)
    for caller in CALLERS:
        caller_user = world.user(caller.role) if caller.role is not None else None
        for place in places:
            url = path
            for name in parameters:
                value = str(path_value(world, name, place, caller_user))
                url = re.sub(rf"{{{name}(:\w+)?}}", value, url)
            headers = caller.headers(world)
            if method in {"PATCH", "PUT", "DELETE"}:
                headers["If-Match"] = '"0"'  # stale on purpose: nothing changes, yet access is checked first
            body: dict[str, object] | None = {} if method in {"POST", "PATCH", "PUT"} else None
            response = await client.request(method, url, headers=headers, json=body)
            where = f"{caller.name} {method} {url} ({place})"
            status = response.status_code

            if isinstance(access, Public):
                assert status not in (401, 403), where
                continue
            assert access is not None
            if caller.role is None and caller.api_key is None:
                assert status == 401, f"{where}: {status} {response.text}"
                continue
            if not allowed(access, caller):
                assert status == 403, f"{where}: {status} {response.text}"
                continue
            assert status not in (401, 403), f"{where}: {status} {response.text}"
            kinds = {PATH_PARAMETERS[name] for name in parameters}
            reaches_other = caller.role is Role.ADMIN
            if place == "other" and (
                CALLER_OWNED in kinds or (STATION_SCOPED in kinds and not reaches_other)
            ):
                # A route whose body the empty one cannot satisfy refuses it first (422); its scoping is
                # tested with real bodies in its domain's tests.
                assert status == 404 or refused_body(response), f"{where}: {status} {response.text}"
            elif kinds & {STATION_SCOPED, CALLER_OWNED}:
                assert status != 404, f"{where}: {status} {response.text}"


# The matrix checks routes against their own declarations; this table says, independently, who must be
# allowed on the routes that guard accounts, credentials, personal data and the audit log, so a declaration
# loosened by mistake fails here.
STAFF_ROLES = {Role.ASSISTANT, Role.OFFICER, Role.LEADER, Role.ADMIN}
SENSITIVE = {
    "users_list": {Role.LEADER, Role.ADMIN},
    "users_create": {Role.LEADER, Role.ADMIN},
    "users_get": {Role.LEADER, Role.ADMIN},
    "users_update": {Role.LEADER, Role.ADMIN},
    "api_keys_list": {Role.ADMIN},
    "api_keys_create": {Role.ADMIN},
    "api_keys_get": {Role.ADMIN},
    "api_keys_revoke": {Role.ADMIN},
    "audit_events_list": {Role.LEADER, Role.ADMIN},
    "jobs_create": {Role.ADMIN},
    "volunteers_list": STAFF_ROLES,
    "volunteers_create": STAFF_ROLES,
    "volunteers_get": STAFF_ROLES,
    "volunteers_update": STAFF_ROLES,
    "volunteers_import": STAFF_ROLES,
    "volunteers_suspend": STAFF_ROLES,
    "volunteers_retire": STAFF_ROLES,
    "jobs_get": STAFF_ROLES,
    "stations_create": {Role.ADMIN},
    "stations_update": {Role.ADMIN},
    "stations_delete": {Role.ADMIN},
    "hazards_update": STAFF_ROLES,
    "hazards_eliminate": STAFF_ROLES,
    "hazards_reopen": STAFF_ROLES,
    "hazards_set_deadline_rules": {Role.LEADER, Role.ADMIN},
    "disputes_update": STAFF_ROLES,
    "disputes_reopen": STAFF_ROLES,
    "disputes_settings": STAFF_ROLES,
    "disputes_set_settings": {Role.LEADER, Role.ADMIN},
    # The session's code checks in whoever holds it; attendance decides each volunteer's compliance.
    "trainings_code": STAFF_ROLES,
    "trainings_officer_checkin": STAFF_ROLES,
    "trainings_set_minutes": STAFF_ROLES,
    "trainings_excuse": STAFF_ROLES,
    "trainings_checkin": {Role.VOLUNTEER},
    "trainings_set_rules": {Role.LEADER, Role.ADMIN},
}


@pytest.mark.parametrize(("operation_id", "roles"), SENSITIVE.items())
def test_sensitive_routes_admit_exactly_the_expected_roles(operation_id, roles):
    [route] = [route for _, _, route in ROUTES if route.operation_id == operation_id]
    access = declaration(route)
    assert isinstance(access, Access)
    assert set(access.roles) == roles
    assert not access.api_scopes, "no machine client may manage accounts, keys or the audit log"
