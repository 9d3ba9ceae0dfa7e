"""The response headers the API sends are in its OpenAPI document: each header a real answer carries (of those
a client acts on) is documented on that operation's response for that status."""

import re
import uuid

import httpx

from tests.hazards.test_hazards import hazard_body
from tests.training.test_trainings import TRAININGS, training_body
from tests.world import make_api_key, path_value, png
from yijing.access import ApiScope, Role

# The headers a client acts on; Cache-Control, Vary and the like are left to HTTP.
WATCHED = (
    "X-Request-ID",
    "Location",
    "ETag",
    "Content-Disposition",
    "Idempotent-Replayed",
    "Retry-After",
    "WWW-Authenticate",
    "Content-Language",
)


def path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + "$")


def operation_of(document: dict, method: str, path: str) -> dict:
    """The operation answering ``method path``: of the templates matching the path, the most literal one
    (``/hazards/summary`` before ``/hazards/{hazard_id}``), as the routes are ordered."""
    matching = [
        template
        for template, item in document["paths"].items()
        if method.lower() in item and path_pattern(template).match(path)
    ]
    assert matching, f"no operation for {method} {path}"
    template = max(matching, key=lambda found: len(re.sub(r"\{[^}]+\}", "", found)))
    return document["paths"][template][method.lower()]


def documentation_gaps(document: dict, response: httpx.Response) -> list[str]:
    """What of the answer the document does not say: its status, or a watched header it carries."""
    request = response.request
    operation = operation_of(document, request.method, request.url.path)
    where = f"{request.method} {request.url.path} → {response.status_code} ({operation['operationId']})"
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        return [f"{where}: the status is not documented"]
    documented_headers = {name.lower() for name in documented.get("headers", {})}
    return [f"{where}: {name}" for name in watched(response) if name.lower() not in documented_headers]


def watched(response: httpx.Response) -> set[str]:
    return {name for name in WATCHED if name in response.headers}


async def test_every_read_documents_the_headers_it_answers_with(client, world):
    """Every GET operation, called by the county admin on the own station's records (downloads, conditional
    reads and records with an ETag among them)."""
    document = (await client.get("/api/v1/openapi.json")).json()
    answers = []
    for template, item in document["paths"].items():
        if "get" in item:
            path = re.sub(
                r"\{([^}]+)\}", lambda name: str(path_value(world, name[1], "own", world.admin)), template
            )
            answers.append(await client.get(path, headers=world.headers(Role.ADMIN)))
    assert [gap for answer in answers for gap in documentation_gaps(document, answer)] == []
    assert set().union(*map(watched, answers)) == {
        "X-Request-ID",
        "ETag",
        "Content-Disposition",
        "Content-Language",
    }


async def test_creates_replays_changes_and_refusals_document_their_headers(client, world, session_factory):
    document = (await client.get("/api/v1/openapi.json")).json()
    officer, volunteer = world.headers(Role.OFFICER), world.headers(Role.VOLUNTEER)
    keyed, training = officer | {"Idempotency-Key": str(uuid.uuid4())}, training_body(world)
    offline = hazard_body(world, client_id=str(uuid.uuid4()))
    hazard = world.own.hazard
    assert hazard is not None
    photo = {"file": ("after.png", png((20, 120, 40)), "image/png")}
    _, limited_key = await make_api_key(
        session_factory, world.settings, [ApiScope.STATS_READ], None, rate_limit=1
    )
    feed = world.own.feed
    assert feed is not None
    calendar = await client.get(feed.url)
    answers = [
        # A create, and the same create again with its Idempotency-Key: the first answer, replayed.
        await client.post(TRAININGS, json=training, headers=keyed),
        await client.post(TRAININGS, json=training, headers=keyed),
        # An offline report, and the same report sent again: 200 with the stored one.
        await client.post("/api/v1/hazards", json=offline, headers=volunteer),
        await client.post("/api/v1/hazards", json=offline, headers=volunteer),
        # A photo, and the same photo again.
        await client.post(f"/api/v1/hazards/{hazard.id}/attachments", files=photo, headers=officer),
        await client.post(f"/api/v1/hazards/{hazard.id}/attachments", files=photo, headers=officer),
        # A change with a stale If-Match, then with none; an action.
        await client.patch(
            f"/api/v1/hazards/{hazard.id}",
            json={"address": "A 区 18 号"},
            headers=officer | {"If-Match": '"0"'},
        ),
        await client.patch(f"/api/v1/hazards/{hazard.id}", json={"address": "A 区 18 号"}, headers=officer),
        await client.post(f"/api/v1/hazards/{hazard.id}/verify", json={"note": "现场核实"}, headers=officer),
        # Refusals: no credentials; an API key over its rate limit.
        await client.get("/api/v1/hazards"),
        await client.get("/api/v1/stats/incidents", headers={"X-API-Key": limited_key}),
        await client.get("/api/v1/stats/incidents", headers={"X-API-Key": limited_key}),
        # A conditional read answered 304.
        calendar,
        await client.get(feed.url, headers={"If-None-Match": calendar.headers["ETag"]}),
    ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201, 201, 201, 200, 201, 200, 412, 200, 200, 401, 200, 429, 200, 304], [
        answer.text for answer in answers
    ]
    assert [gap for answer in answers for gap in documentation_gaps(document, answer)] == []
    assert set().union(*map(watched, answers)) == set(WATCHED) - {"Content-Disposition"}
