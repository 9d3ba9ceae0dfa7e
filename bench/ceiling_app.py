"""The ceiling the API's reads are measured against (``python -m bench ceiling``): a bare Starlette app on
asyncpg that checks the same access token as the API (signature, claims, and its sign-in session and user
in the database), runs the same SQL a lean read needs (the caller's session and user; the page or the
record) and answers the same JSON bytes. No framework beyond routing, no pool beyond asyncpg's own, no
validation, no logging: what a hand-written endpoint costs.

Started by bench/ceiling.py under uvicorn with the API's own options; it reads ``CEILING_DSN`` (an asyncpg
DSN) and ``CEILING_SECRET`` (the API's secret key) from the environment."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from yijing.hazards.models import HazardStatus
from yijing.hazards.service import LIFECYCLE

ISSUER = "yijing"
PAGE_SIZE = 50  # the page query fetches one more: is there a next page
CALLER = """
    SELECT s.revoked_at, s.expires_at, u.is_active, u.role, u.station_id
    FROM auth_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id = $1 AND u.id = $2
"""
VOLUNTEERS = """
    SELECT id, station_id, site_id, name, gender, phone_masked, id_card_masked, source, household_name,
           household_address, badge_number, skills, joined_on, status, user_id, version, created_at,
           updated_at
    FROM volunteers WHERE station_id = $1 ORDER BY id LIMIT 51
"""
HAZARD = """
    SELECT id, station_id, site_id, category, severity, source, description, latitude, longitude, address,
           responsible_party, reporter_id, reporter_role, reporter_volunteer_id, client_id, captured_at,
           deadline, overdue, status, duplicate_of_id, referred_to, eliminated_at, closed_at, version,
           created_at, updated_at
    FROM hazards WHERE id = $1 AND station_id = $2
"""
# The actions each status allows, as the API's hazard lifecycle says (computed once, at import).
HAZARD_ACTIONS = {
    str(status): [str(action) for action in LIFECYCLE.allowed(status)] for status in HazardStatus
}


def _encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        # As pydantic writes it: UTC as "Z".
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value))


def _json(document: Any, status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_encode)
    return Response(body.encode(), status, media_type="application/json")


async def _caller_station(request: Request) -> uuid.UUID | None:
    """The signed-in caller's station, or None when the token or its session does not hold."""
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(
            authorization[7:],
            os.environ["CEILING_SECRET"],
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "iss"]},
        )
        session_id, user_id = uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"])
    except (jwt.InvalidTokenError, KeyError, ValueError):
        return None
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(CALLER, session_id, user_id)
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= datetime.now(UTC):
        return None
    if not row["is_active"] or claims.get("typ") != "access":
        return None
    station_id: uuid.UUID | None = row["station_id"]
    return station_id


def _unauthenticated() -> Response:
    return _json({"code": "unauthenticated"}, 401)


async def volunteers(request: Request) -> Response:
    station_id = await _caller_station(request)
    if station_id is None:
        return _unauthenticated()
    pool: asyncpg.Pool = request.app.state.pool
    rows = await pool.fetch(VOLUNTEERS, station_id)
    items = [
        {
            "id": row["id"], "station_id": row["station_id"], "site_id": row["site_id"], "name": row["name"],
            "gender": row["gender"], "phone": row["phone_masked"], "id_card_number": row["id_card_masked"],
            "personal_data": "masked", "source": row["source"], "household_name": row["household_name"],
            "household_address": row["household_address"], "badge_number": row["badge_number"],
            "skills": row["skills"], "joined_on": row["joined_on"], "status": row["status"],
            "user_id": row["user_id"], "version": row["version"], "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
        for row in rows[:PAGE_SIZE]
    ]  # fmt: skip
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        next_cursor = base64.urlsafe_b64encode(rows[PAGE_SIZE - 1]["id"].bytes).decode().rstrip("=")
    return _json({"items": items, "next_cursor": next_cursor})


async def hazard(request: Request) -> Response:
    station_id = await _caller_station(request)
    if station_id is None:
        return _unauthenticated()
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(HAZARD, uuid.UUID(request.path_params["hazard_id"]), station_id)
    if row is None:
        return _json({"code": "hazard_not_found"}, 404)
    location = None
    if row["latitude"] is not None:
        location = {"latitude": row["latitude"], "longitude": row["longitude"]}
    document = {
        "id": row["id"], "station_id": row["station_id"], "site_id": row["site_id"],
        "category": row["category"], "severity": row["severity"], "source": row["source"],
        "description": row["description"], "location": location, "address": row["address"],
        "responsible_party": row["responsible_party"], "reporter_id": row["reporter_id"],
        "reporter_role": row["reporter_role"], "reporter_volunteer_id": row["reporter_volunteer_id"],
        "client_id": row["client_id"], "captured_at": row["captured_at"], "deadline": row["deadline"],
        "overdue": row["overdue"], "status": row["status"],
        "allowed_actions": HAZARD_ACTIONS[row["status"]], "duplicate_of_id": row["duplicate_of_id"],
        "referred_to": row["referred_to"], "eliminated_at": row["eliminated_at"],
        "closed_at": row["closed_at"], "version": row["version"], "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }  # fmt: skip
    response = _json(document)
    response.headers["etag"] = f'"{row["version"]}"'
    return response


async def _decode_json(connection: asyncpg.Connection) -> None:
    """JSON columns (a volunteer's skills) as Python values, as the API's driver connections have them."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["CEILING_DSN"], min_size=2, max_size=20, init=_decode_json
    )
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[Route("/volunteers", volunteers), Route("/hazards/{hazard_id}", hazard)], lifespan=lifespan
)
