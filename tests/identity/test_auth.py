"""Signing in, tokens and API keys: the failure paths first."""

import asyncio
import base64
import hashlib
import json
from datetime import timedelta
from types import SimpleNamespace

import jwt
import pytest
from sqlalchemy import select, text, update
from sqlmodel import col

from tests.db import count_rows
from tests.world import PASSWORD, make_api_key
from yijing.access import ApiScope, Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.identity import repository as identity_repository
from yijing.identity.errors import InvalidToken
from yijing.identity.models import ApiKeyUsage, LoginFailure, User
from yijing.identity.schemas import ApiKeyRead
from yijing.identity.tokens import AccessClaims, issue_access_token
from yijing.ids import utcnow
from yijing.jobs import service as jobs_service
from yijing.system.jobs import PURGE


async def sign_in(client, phone, password=PASSWORD):
    return await client.post("/api/v1/auth/token", data={"username": phone, "password": password})


def forge(world, user, **changes):
    """A token like a real one, with some claims or the signing changed."""
    claims = jwt.decode(world.tokens[user.id], options={"verify_signature": False})
    secret = changes.pop("secret", world.settings.secret_key)
    algorithm = changes.pop("algorithm", "HS256")
    return jwt.encode({**claims, **changes}, secret, algorithm=algorithm)


async def test_sign_in_with_phone_and_password_gives_working_tokens(client, world):
    officer = world.user(Role.OFFICER)
    response = await sign_in(client, world.phones[officer.id])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == world.settings.access_token_minutes * 60
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["id"] == str(officer.id)


async def test_the_phone_may_be_written_with_spaces_and_a_country_code(client, world):
    phone = world.phones[world.user(Role.VOLUNTEER).id]
    assert (await sign_in(client, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}")).status_code == 200


@pytest.mark.parametrize("wrong", ["password", "phone"])
async def test_a_wrong_password_or_unknown_phone_is_401_and_says_nothing_more(client, world, wrong):
    phone = world.phones[world.user(Role.OFFICER).id]
    response = await sign_in(client, "13000000000" if wrong == "phone" else phone, "not the password")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_failed_sign_in_is_audited(client, world, session_factory):
    officer = world.user(Role.OFFICER)
    await sign_in(client, world.phones[officer.id], "not the password")
    async with session_factory() as session:
        event = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.action) == "auth.login_failed"))
        ).one()
    assert event.target_id == str(officer.id)


def lockout_seconds(world) -> int:
    return world.settings.login_lockout_minutes * 60


async def fail(client, phone, times):
    for _ in range(times):
        assert (await sign_in(client, phone, "not the password")).status_code == 401


async def let_time_pass(session_factory, seconds):
    """As if ``seconds`` had passed for the sign-in lockout: every counted attempt and lock moves back."""
    async with session_scope(session_factory) as session:
        await session.execute(
            text(
                "UPDATE login_failures SET attempted_at = ARRAY("
                "  SELECT attempt - CAST(:shift AS interval) FROM unnest(attempted_at) AS attempt"
                "  ORDER BY attempt"
                "), locked_until = locked_until - CAST(:shift AS interval),"
                " updated_at = updated_at - CAST(:shift AS interval)"
            ),
            {"shift": timedelta(seconds=seconds)},
        )


async def test_repeated_failures_lock_the_phone_with_retry_after(client, world):
    phone = world.phones[world.user(Role.OFFICER).id]
    await fail(client, phone, world.settings.login_max_failures)
    locked = await sign_in(client, phone)  # even the right password waits
    assert locked.status_code == 429
    assert locked.json()["code"] == "too_many_requests"
    # The whole lockout, from the failure that set it (not what is left of a clock-aligned window).
    assert lockout_seconds(world) - 5 <= int(locked.headers["retry-after"]) <= lockout_seconds(world)
    # Another phone number is not affected.
    assert (await sign_in(client, world.phones[world.user(Role.LEADER).id])).status_code == 200


async def test_a_lock_lasts_the_full_lockout_and_no_longer(client, world, session_factory):
    phone = world.phones[world.user(Role.OFFICER).id]
    await fail(client, phone, world.settings.login_max_failures)
    await let_time_pass(session_factory, lockout_seconds(world) - 30)
    locked = await sign_in(client, phone)
    assert locked.status_code == 429
    assert 25 <= int(locked.headers["retry-after"]) <= 30
    await let_time_pass(session_factory, 31)
    assert (await sign_in(client, phone)).status_code == 200


async def test_failures_count_in_a_sliding_window_not_a_fixed_one(client, world, session_factory):
    """Four failures near the end of a lockout period and one now are five within one period: locked, for
    a full period from the fifth. A fixed window would have counted them in two windows and let eight
    guesses through across its boundary."""
    phone = world.phones[world.user(Role.OFFICER).id]
    limit = world.settings.login_max_failures
    await fail(client, phone, limit - 1)
    await let_time_pass(session_factory, lockout_seconds(world) - 10)
    await fail(client, phone, 1)
    locked = await sign_in(client, phone)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= lockout_seconds(world) - 5
    # The four old failures expire; the lock they made with the fifth does not.
    await let_time_pass(session_factory, 11)
    assert (await sign_in(client, phone)).status_code == 429


async def test_failures_older_than_the_lockout_period_no_longer_count(client, world, session_factory):
    phone = world.phones[world.user(Role.OFFICER).id]
    limit = world.settings.login_max_failures
    await fail(client, phone, limit - 1)
    await let_time_pass(session_factory, lockout_seconds(world) + 1)
    await fail(client, phone, limit - 1)
    assert (await sign_in(client, phone)).status_code == 200


async def test_a_successful_sign_in_clears_the_failures(client, world, session_factory):
    phone = world.phones[world.user(Role.OFFICER).id]
    limit = world.settings.login_max_failures
    await fail(client, phone, limit - 1)
    assert (await sign_in(client, phone)).status_code == 200
    assert await count_rows(session_factory, LoginFailure) == 0
    await fail(client, phone, limit - 1)
    assert (await sign_in(client, phone)).status_code == 200


async def test_expired_sign_in_attempts_and_api_key_counts_are_purged(world, session_factory):
    """The nightly purge drops what no longer counts and keeps what does."""
    now = utcnow()
    async with session_scope(session_factory) as session:
        for fingerprint, age in (("old", lockout_seconds(world) + 1), ("recent", 60)):
            await identity_repository.count_login_attempt(
                session,
                fingerprint,
                now - timedelta(seconds=age),
                timedelta(seconds=lockout_seconds(world)),
                5,
            )
        key_id = world.api_keys["stats"][0]
        for minutes_ago in (2, 0):
            await identity_repository.count_api_key_request(
                session, key_id, now.replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
            )
    execution = await jobs_service.execute(session_factory, world.settings, PURGE, {})
    assert execution.result is not None
    assert execution.result["login_failures_deleted"] == 1
    assert execution.result["api_key_usage_deleted"] == 1
    async with session_factory() as session:
        assert (await session.scalars(select(col(LoginFailure.phone_fingerprint)))).all() == ["recent"]
    assert await count_rows(session_factory, ApiKeyUsage) == 1


@pytest.mark.committed  # concurrent transactions need connections of their own
async def test_parallel_guesses_cannot_slip_past_the_lock(client, world):
    phone = world.phones[world.user(Role.OFFICER).id]
    limit = world.settings.login_max_failures
    responses = await asyncio.gather(*(sign_in(client, phone, "not the password") for _ in range(limit + 5)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(401) == limit
    assert statuses.count(429) == 5


async def test_a_disabled_user_cannot_sign_in(client, world, session_factory):
    volunteer = world.user(Role.VOLUNTEER)
    async with session_scope(session_factory) as session:
        await session.execute(update(User).where(User.id == volunteer.id).values(is_active=False))
    response = await sign_in(client, world.phones[volunteer.id])
    assert response.status_code == 401
    assert response.json()["code"] == "account_disabled"


async def test_a_disabled_users_live_token_is_refused_at_once(client, world, session_factory):
    volunteer = world.user(Role.VOLUNTEER)
    headers = world.headers(Role.VOLUNTEER)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    async with session_scope(session_factory) as session:  # behind the API's back: no session revoked
        await session.execute(update(User).where(User.id == volunteer.id).values(is_active=False))
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "account_disabled"


async def test_disabling_a_user_through_the_api_ends_their_sessions(client, world):
    volunteer = world.user(Role.VOLUNTEER)
    response = await client.patch(
        f"/api/v1/users/{volunteer.id}", json={"is_active": False}, headers=world.headers(Role.LEADER)
    )
    assert response.status_code == 200, response.text
    assert (await client.get("/api/v1/me", headers=world.headers(Role.VOLUNTEER))).status_code == 401


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"exp": 1}, id="expired"),
        pytest.param({"secret": "someone else's secret key, long enough to sign"}, id="forged"),
        pytest.param(
            {"algorithm": "HS512"},
            id="wrong-algorithm",
            marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
        ),
        pytest.param({"typ": "refresh"}, id="not-an-access-token"),
        pytest.param({"sid": "00000000-0000-7000-8000-000000000000"}, id="unknown-session"),
        pytest.param({"iss": "elsewhere"}, id="wrong-issuer"),
    ],
)
async def test_bad_tokens_are_401(client, world, tamper):
    token = forge(world, world.user(Role.OFFICER), **tamper)
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


async def test_an_unsigned_token_is_401(client, world):
    claims = jwt.decode(world.tokens[world.admin.id], options={"verify_signature": False})
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    token = f"{header.decode()}.{body.decode()}."
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


@pytest.mark.parametrize("value", ["Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"])
async def test_malformed_authorization_is_401(client, value):
    assert (await client.get("/api/v1/me", headers={"Authorization": value})).status_code == 401


async def test_a_role_change_applies_to_live_tokens(client, world, session_factory):
    """The token says officer, the database now says assistant: the database wins."""
    officer = world.user(Role.OFFICER)
    async with session_scope(session_factory) as session:
        await session.execute(update(User).where(User.id == officer.id).values(role=Role.ASSISTANT))
    me = await client.get("/api/v1/me", headers=world.headers(Role.OFFICER))
    assert me.json()["role"] == "assistant"


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_session(client, world):
    first = (await sign_in(client, world.phones[world.user(Role.OFFICER).id])).json()
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    access = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await client.get("/api/v1/me", headers=access)).status_code == 200

    # The first refresh token again: someone else may hold a copy, so the whole family ends.
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    latest = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert latest.status_code == 401
    assert (await client.get("/api/v1/me", headers=access)).status_code == 401
    # The station's leaders can see it happened.
    events = await client.get(
        "/api/v1/audit-events",
        params={"action": "auth.refresh_token_reused"},
        headers=world.headers(Role.LEADER),
    )
    assert len(events.json()["items"]) == 1


async def test_an_unknown_refresh_token_is_401(client):
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert response.status_code == 401


async def test_logout_ends_the_access_and_refresh_tokens_of_that_session_only(client, world):
    phone = world.phones[world.user(Role.LEADER).id]
    phone_app = (await sign_in(client, phone)).json()
    tablet_app = (await sign_in(client, phone)).json()
    phone_headers = {"Authorization": f"Bearer {phone_app['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", headers=phone_headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=phone_headers)).status_code == 401
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": phone_app["refresh_token"]})
    assert refreshed.status_code == 401
    tablet_headers = {"Authorization": f"Bearer {tablet_app['access_token']}"}
    assert (await client.get("/api/v1/me", headers=tablet_headers)).status_code == 200


async def test_an_expired_sign_in_session_refuses_its_refresh_token(client, world, session_factory):
    from yijing.identity.models import AuthSession

    tokens = (await sign_in(client, world.phones[world.user(Role.OFFICER).id])).json()
    async with session_scope(session_factory) as session:
        await session.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401


# API keys


async def test_an_api_key_reaches_only_its_stations(client, world):
    headers = {"X-API-Key": world.api_keys["stats"][1]}
    stations = (await client.get("/api/v1/stations", headers=headers)).json()["items"]
    assert [station["id"] for station in stations] == [str(world.own.station.id)]
    other = await client.get(f"/api/v1/stations/{world.other.station.id}", headers=headers)
    assert other.status_code == 404


async def test_an_api_key_without_the_scope_is_403(client, world):
    response = await client.get("/metrics", headers={"X-API-Key": world.api_keys["stats"][1]})
    assert response.status_code == 403
    assert "metrics:read" in response.json()["detail"]


async def test_a_revoked_api_key_is_refused(client, world):
    key_id, key = world.api_keys["stats"]
    revoked = await client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=world.headers(Role.ADMIN))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = await client.get("/api/v1/stations", headers={"X-API-Key": key})
    assert response.status_code == 401
    assert response.json()["detail"] == "该 API 密钥已被吊销"


@pytest.mark.parametrize("key", ["yj_nope_nope", "not-a-key", "yj__"])
async def test_an_unknown_api_key_is_401(client, key):
    assert (await client.get("/api/v1/stations", headers={"X-API-Key": key})).status_code == 401


async def test_a_guessed_secret_for_a_real_prefix_is_401(client, world):
    _, key = world.api_keys["stats"]
    prefix = key.rsplit("_", 1)[0]
    assert (await client.get("/api/v1/stations", headers={"X-API-Key": f"{prefix}_guess"})).status_code == 401


async def test_an_expired_api_key_is_refused(client, world, session_factory):
    from yijing.identity.models import ApiKey

    key_id, key = world.api_keys["stats"]
    async with session_scope(session_factory) as session:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(expires_at=utcnow()))
    response = await client.get("/api/v1/stations", headers={"X-API-Key": key})
    assert response.status_code == 401
    assert response.json()["detail"] == "该 API 密钥已过期"


async def test_an_api_key_over_its_rate_limit_is_429_with_retry_after(client, world, session_factory):
    _, key = await make_api_key(session_factory, world.settings, [ApiScope.STATS_READ], None, rate_limit=3)
    headers = {"X-API-Key": key}
    statuses = [(await client.get("/api/v1/stations", headers=headers)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await client.get("/api/v1/stations", headers=headers)
    assert 0 < int(limited.headers["retry-after"]) <= 60


async def test_a_created_api_key_is_shown_once_and_stored_hashed(client, world, session_factory):
    from yijing.identity.models import ApiKey

    body = {"name": "市局统计", "scopes": ["stats:read"], "station_ids": [str(world.own.station.id)]}
    created = await client.post("/api/v1/api-keys", json=body, headers=world.headers(Role.ADMIN))
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert created.headers["cache-control"] == "no-store"
    read = await client.get(f"/api/v1/api-keys/{created.json()['id']}", headers=world.headers(Role.ADMIN))
    assert "key" not in read.json()
    async with session_factory() as session:
        stored = await session.get(ApiKey, created.json()["id"])
    secret = key.split("_", 2)[2]
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored.model_dump())
    assert (await client.get("/api/v1/stations", headers={"X-API-Key": key})).status_code == 200


async def test_an_api_key_for_a_missing_station_or_past_expiry_is_refused(client, world):
    admin = world.headers(Role.ADMIN)
    missing = {"name": "k", "scopes": ["stats:read"], "station_ids": ["00000000-0000-7000-8000-000000000001"]}
    assert (await client.post("/api/v1/api-keys", json=missing, headers=admin)).status_code == 404
    past = {"name": "k", "scopes": ["stats:read"], "expires_at": "2020-01-01T00:00:00+08:00"}
    response = await client.post("/api/v1/api-keys", json=past, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.expires_at"


async def test_the_docs_authorize_flow_is_the_oauth2_password_flow(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["PhonePassword"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["ApiKey"]["description"],
    }
    me = document["paths"]["/api/v1/me"]["get"]
    assert {"PhonePassword": []} in me["security"]
    assert "security" not in document["paths"]["/healthz"]["get"]


async def test_issue_access_token_round_trips(world):
    from yijing.identity.tokens import read_access_token

    user = world.user(Role.OFFICER)
    claims = AccessClaims(user.id, user.id, Role.OFFICER, user.station_id)
    token = issue_access_token(world.settings.secret_key, claims, utcnow(), timedelta(minutes=1))
    assert read_access_token(world.settings.secret_key, token) == claims


async def test_a_token_read_before_still_expires_and_a_changed_one_is_verified_anew(world, monkeypatch):
    """A verified token's claims are kept: its expiry is checked on every read, and a token that differs
    from a kept one in any way (its signature) is verified from scratch."""
    from yijing.identity import tokens

    secret = world.settings.secret_key
    user = world.user(Role.OFFICER)
    claims = AccessClaims(user.id, user.id, Role.OFFICER, user.station_id)
    token = issue_access_token(secret, claims, utcnow(), timedelta(minutes=1))
    assert tokens.read_access_token(secret, token) == claims
    assert tokens.read_access_token(secret, token) == claims  # kept
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(InvalidToken, match="not valid"):
        tokens.read_access_token(secret, forged)
    with pytest.raises(InvalidToken, match="not valid"):
        tokens.read_access_token("another secret, as long as the service's own", token)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    monkeypatch.setattr("yijing.identity.tokens.time", SimpleNamespace(time=lambda: expires))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.read_access_token(secret, token)


async def test_a_kept_token_is_refused_once_its_session_ends(client, world):
    """Keeping a token's claims keeps nothing of its session: a sign-out refuses it at once, on the lean
    lane (a volunteer list) as on a route."""
    signed_in = (await sign_in(client, world.phones[world.user(Role.OFFICER).id])).json()
    headers = {"Authorization": f"Bearer {signed_in['access_token']}"}
    assert (await client.get("/api/v1/volunteers", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    refused = await client.get("/api/v1/volunteers", headers=headers)
    assert refused.status_code == 401, refused.text


async def test_an_api_key_reads_the_same_in_its_list_and_its_get(client, world):
    """Read lean: the JSON lists (scopes, stations: null for all) as created, the default rate limit."""
    admin = world.headers(Role.ADMIN)
    body = {"name": "全县统计", "scopes": ["stats:read", "metrics:read"]}
    created = await client.post("/api/v1/api-keys", json=body, headers=admin)
    assert created.status_code == 201, created.text
    shown = {name: value for name, value in created.json().items() if name != "key"}
    read = (await client.get(f"/api/v1/api-keys/{shown['id']}", headers=admin)).json()
    assert read == shown
    assert read["station_ids"] is None
    assert read["scopes"] == ["metrics:read", "stats:read"]
    assert read["rate_limit_per_minute"] == world.settings.api_key_rate_limit
    assert list(read) == list(ApiKeyRead.model_fields)
    listed = (await client.get("/api/v1/api-keys", params={"limit": 50}, headers=admin)).json()["items"]
    assert [item for item in listed if item["id"] == shown["id"]] == [read]
