"""The lean lane (yijing_api.lean) answers its reads' common case and leaves everything else to the routes:
for every request here, the answer with the lane and without it is the same (status, body, headers), and
the lane answered exactly the requests it should have."""

import pytest

from yijing.access import Role
from yijing.hazards.schemas import HazardRead
from yijing.kit.pagination import encode_cursor
from yijing.volunteers.schemas import VolunteerRead
from yijing_api.lean import LeanLane

VOLUNTEERS = "/api/v1/volunteers"


def _lane(client) -> LeanLane:
    """The app's lean lane, found down its middleware stack."""
    layer = client._transport.app.middleware_stack
    while not isinstance(layer, LeanLane):
        layer = layer.app
    return layer


def _comparable(response) -> tuple[int, object, dict[str, str]]:
    """The answer less what differs between any two requests: the request id (a header, and a problem's)."""
    headers = {name: value for name, value in response.headers.items() if name != "x-request-id"}
    body: object = response.content
    if headers.get("content-type") == "application/problem+json":
        body = {key: value for key, value in response.json().items() if key != "request_id"}
    return response.status_code, body, headers


@pytest.fixture
def routed(client, monkeypatch):
    """The paths the lean lane passed on to the routes."""
    lane = _lane(client)
    passed, inner = [], lane.app

    async def recording(scope, receive, send):
        passed.append(scope["path"])
        await inner(scope, receive, send)

    monkeypatch.setattr(lane, "app", recording)
    return passed


async def _both_lanes(client, monkeypatch, path, **request):
    """(with the lane, without it)"""
    with_lane = await client.get(path, **request)
    with monkeypatch.context() as patch:
        patch.setattr(_lane(client), "reads", ())
        without = await client.get(path, **request)
    return with_lane, without


async def test_the_common_reads_are_answered_on_the_lean_lane_with_the_routes_bytes(
    client, world, monkeypatch, routed
):
    officer = world.headers(Role.OFFICER)
    hazard = world.own.hazard
    assert hazard is not None
    assert world.own.volunteer is not None
    after_first = encode_cursor(world.own.volunteer.id)
    common = [
        (f"/api/v1/hazards/{hazard.id}", {"headers": officer}),
        (f"/api/v1/hazards/{hazard.id}", {"headers": world.headers(Role.VOLUNTEER)}),  # the reporter
        (f"/api/v1/hazards/{hazard.id}", {"headers": world.headers(Role.ADMIN)}),
        (VOLUNTEERS, {"headers": officer}),
        (VOLUNTEERS, {"params": {"limit": 1, "cursor": after_first}, "headers": officer}),
        (VOLUNTEERS, {"params": {"status": "active", "q": "翁"}, "headers": officer}),
        (VOLUNTEERS, {"params": {"site_id": str(world.own.site.id)}, "headers": world.headers(Role.ADMIN)}),
    ]
    for path, request in common:
        routed.clear()
        with_lane, without = await _both_lanes(client, monkeypatch, path, **request)
        assert with_lane.status_code == 200, with_lane.text
        assert _comparable(with_lane) == _comparable(without), path
        assert routed == [path]  # only the request without the lane reached the route


async def test_everything_else_is_left_to_the_routes(client, world, monkeypatch, routed):
    officer = world.headers(Role.OFFICER)
    own, other = world.own.hazard, world.other.hazard
    _, key = world.api_keys["all"]
    assert own is not None
    assert other is not None
    left = [
        (f"/api/v1/hazards/{own.id}", {}, 401),  # no token
        (f"/api/v1/hazards/{own.id}", {"headers": {"Authorization": "Bearer nonsense"}}, 401),
        (f"/api/v1/hazards/{other.id}", {"headers": officer}, 404),  # another station's
        (f"/api/v1/hazards/{own.id}", {"headers": world.headers(Role.VOLUNTEER, "other")}, 404),
        (f"/api/v1/hazards/{own.id}", {"headers": {**officer, "If-None-Match": '"1"'}}, None),
        (f"/api/v1/hazards/{own.id}", {"headers": {"X-API-Key": key}}, 403),  # keys: the route's to judge
        (f"/api/v1/hazards/{own.id}", {"headers": {"Authorization": f"Bearer {key}"}}, 401),
        (VOLUNTEERS, {"headers": world.headers(Role.VOLUNTEER)}, 403),  # staff only
        (VOLUNTEERS, {"params": {"limit": 0}, "headers": officer}, 422),
        (VOLUNTEERS, {"params": {"limit": "2.0"}, "headers": officer}, 422),
        (VOLUNTEERS, {"params": {"cursor": "not-a-cursor"}, "headers": officer}, 422),
        (VOLUNTEERS, {"params": [("status", "active"), ("status", "suspended")], "headers": officer}, 422),
        (VOLUNTEERS, {"params": {"unknown": "x"}, "headers": officer}, 200),  # ignored, by the route
    ]
    for path, request, status in left:
        routed.clear()
        with_lane, without = await _both_lanes(client, monkeypatch, path, **request)
        assert status is None or with_lane.status_code == status, with_lane.text
        assert _comparable(with_lane) == _comparable(without), (path, request)
        assert routed == [path, path]  # both reached the route


async def test_lean_read_models_keep_their_fields_order(client, world):
    """Built without validation (yijing.kit.reads.read_model), a read model still writes its fields in the
    order its schema declares them, as a validated one does."""
    officer = world.headers(Role.OFFICER)
    assert world.own.hazard is not None
    hazard = (await client.get(f"/api/v1/hazards/{world.own.hazard.id}", headers=officer)).json()
    assert list(hazard) == list(HazardRead.model_fields)
    [volunteer] = (await client.get(VOLUNTEERS, headers=officer)).json()["items"]
    assert list(volunteer) == list(VolunteerRead.model_fields)
