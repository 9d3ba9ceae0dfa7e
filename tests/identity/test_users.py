"""Users: who may create whom, personal data validated, masked, revealed only with an audit trail."""

import re

import pytest
from sqlalchemy import select, text
from sqlmodel import col

from tests.db import count_rows
from tests.world import id_card_number
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.identity.schemas import UserRead
from yijing.notifications.models import Notification

MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")
MASKED_ID_CARD = re.compile(r"^\d{4}\*{10}\d{3}[\dX]$")


def new_user(world, role="volunteer", **overrides):
    body = {
        "name": "陈阿姨",
        "phone": "13712345678",
        "password": "a long enough password",
        "role": role,
        "station_id": str(world.own.station.id),
        "id_card_number": id_card_number(77),
    }
    if role == "admin":
        body.pop("station_id")
    return {**body, **overrides}


def assert_masked(user_read):
    assert user_read["personal_data"] == "masked"
    assert MASKED_PHONE.match(user_read["phone"]), user_read["phone"]
    if user_read["id_card_number"] is not None:
        assert MASKED_ID_CARD.match(user_read["id_card_number"]), user_read["id_card_number"]


async def events(session_factory, action):
    async with session_factory() as session:
        return (await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all()


async def test_a_leader_creates_a_volunteer_in_their_station(client, world, session_factory):
    response = await client.post("/api/v1/users", json=new_user(world), headers=world.headers(Role.LEADER))
    assert response.status_code == 201, response.text
    created = response.json()
    assert_masked(created)
    assert created["phone"] == "137****5678"
    assert response.headers["location"] == f"/api/v1/users/{created['id']}"
    [event] = await events(session_factory, "user.create")
    assert event.actor_id == world.user(Role.LEADER).id
    assert event.station_id == world.own.station.id
    # Secrets and personal data never reach the audit log in clear.
    assert event.changes["password"] == "[changed]"
    assert event.changes["phone"] == "[changed]"
    assert event.changes["id_card_number"] == "[changed]"
    assert event.changes["role"] == "volunteer"


async def test_personal_data_is_stored_sealed(client, world, session_factory):
    await client.post("/api/v1/users", json=new_user(world), headers=world.headers(Role.LEADER))
    async with session_factory() as session:
        row = (
            (await session.execute(text("SELECT * FROM users WHERE phone_masked = '137****5678'")))
            .mappings()
            .one()
        )
    stored = " ".join(str(value) for value in row.values())
    assert "13712345678" not in stored
    assert id_card_number(77) not in stored


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "id_card_number",
            id_card_number(77)[:17] + ("0" if id_card_number(77)[17] != "0" else "1"),
            "check digit",
        ),
        ("id_card_number", "350121198002301234", "birth date"),
        ("id_card_number", "990121198001011234", "region code"),
        ("phone", "12812345678", "pattern"),
        ("phone", "1381234567", "pattern"),
    ],
)
async def test_invalid_id_card_or_phone_is_422_with_a_field_error(client, world, field, value, message):
    english = {"accept-language": "en"}  # the rule broken is read from the English message
    response = await client.post(
        "/api/v1/users", json=new_user(world, **{field: value}), headers=world.headers(Role.LEADER) | english
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"].endswith(field)
    assert message in error["message"]


async def test_a_duplicate_phone_or_id_card_is_409(client, world):
    leader = world.headers(Role.LEADER)
    assert (await client.post("/api/v1/users", json=new_user(world), headers=leader)).status_code == 201
    same_phone = new_user(world, id_card_number=id_card_number(78))
    assert (await client.post("/api/v1/users", json=same_phone, headers=leader)).json()[
        "code"
    ] == "phone_taken"
    same_card = new_user(world, phone="13712345679")
    assert (await client.post("/api/v1/users", json=same_card, headers=leader)).json()[
        "code"
    ] == "id_card_taken"


@pytest.mark.parametrize("role", ["admin", "leader"])
async def test_a_leader_grants_only_roles_below_their_own(client, world, role):
    response = await client.post(
        "/api/v1/users", json=new_user(world, role), headers=world.headers(Role.LEADER)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_grantable"


async def test_a_leader_cannot_promote_anyone_to_admin(client, world):
    volunteer = world.user(Role.VOLUNTEER)
    response = await client.patch(
        f"/api/v1/users/{volunteer.id}", json={"role": "admin"}, headers=world.headers(Role.LEADER)
    )
    assert response.status_code == 403


async def test_a_leader_cannot_create_users_in_another_station(client, world):
    body = new_user(world, station_id=str(world.other.station.id))
    response = await client.post("/api/v1/users", json=body, headers=world.headers(Role.LEADER))
    assert response.status_code == 404
    assert response.json()["code"] == "station_not_found"


async def test_an_officer_is_attached_to_sites_of_their_station_only(client, world):
    leader = world.headers(Role.LEADER)
    good = new_user(world, "officer", site_ids=[str(world.own.site.id)])
    created = await client.post("/api/v1/users", json=good, headers=leader)
    assert created.status_code == 201, created.text
    assert created.json()["site_ids"] == [str(world.own.site.id)]
    foreign = new_user(world, "officer", phone="13712345670", site_ids=[str(world.other.site.id)])
    foreign["id_card_number"] = id_card_number(79)
    assert (await client.post("/api/v1/users", json=foreign, headers=leader)).status_code == 404


async def test_an_admin_account_has_no_station_and_members_need_one(client, world):
    admin = world.headers(Role.ADMIN)
    with_station = {**new_user(world, "admin"), "station_id": str(world.own.station.id)}
    assert (await client.post("/api/v1/users", json=with_station, headers=admin)).status_code == 422
    no_station = new_user(world)
    no_station.pop("station_id")
    assert (await client.post("/api/v1/users", json=no_station, headers=admin)).status_code == 422
    assert (
        await client.post("/api/v1/users", json=new_user(world, "admin"), headers=admin)
    ).status_code == 201


async def test_every_read_model_masks_personal_data(client, world):
    leader = world.headers(Role.LEADER)
    volunteer = world.user(Role.VOLUNTEER)
    listed = (await client.get("/api/v1/users", headers=leader)).json()["items"]
    assert listed
    for user_read in listed:
        assert_masked(user_read)
    assert_masked((await client.get(f"/api/v1/users/{volunteer.id}", headers=leader)).json())
    assert_masked(
        (await client.patch(f"/api/v1/users/{volunteer.id}", json={"name": "x"}, headers=leader)).json()
    )
    assert_masked((await client.get("/api/v1/me", headers=world.headers(Role.VOLUNTEER))).json())
    assert_masked(
        (await client.patch("/api/v1/me", json={"name": "y"}, headers=world.headers(Role.VOLUNTEER))).json()
    )


async def test_a_full_read_is_explicit_and_audited(client, world, session_factory):
    volunteer = world.user(Role.VOLUNTEER)
    response = await client.get(
        f"/api/v1/users/{volunteer.id}",
        params={"reveal": "personal_data"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 200
    full = response.json()
    assert full["personal_data"] == "full"
    assert full["phone"] == world.phones[volunteer.id]
    assert full["id_card_number"] is not None
    assert "*" not in full["id_card_number"]
    [event] = await events(session_factory, "user.personal_data.read")
    assert event.actor_id == world.user(Role.LEADER).id
    assert event.target_id == str(volunteer.id)
    assert event.request_id == response.headers["x-request-id"]


async def test_anyone_may_read_their_own_personal_data_in_full_audited(client, world, session_factory):
    volunteer = world.user(Role.VOLUNTEER)
    me = await client.get(
        "/api/v1/me", params={"reveal": "personal_data"}, headers=world.headers(Role.VOLUNTEER)
    )
    assert me.json()["phone"] == world.phones[volunteer.id]
    assert len(await events(session_factory, "user.personal_data.read")) == 1


async def test_users_of_another_station_are_not_listed(client, world):
    listed = (await client.get("/api/v1/users", headers=world.headers(Role.LEADER))).json()["items"]
    assert {user["station_id"] for user in listed} == {str(world.own.station.id)}
    everyone = (
        await client.get("/api/v1/users", params={"limit": 200}, headers=world.headers(Role.ADMIN))
    ).json()
    assert len(everyone["items"]) == len(world.everyone())


async def test_users_list_pages_with_a_cursor(client, world):
    admin = world.headers(Role.ADMIN)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/users", params=params, headers=admin)).json()
        seen.extend(user["id"] for user in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(world.everyone())


async def test_a_stale_if_match_is_412_and_changes_nothing(client, world):
    volunteer = world.user(Role.VOLUNTEER)
    leader = world.headers(Role.LEADER)
    current = await client.get(f"/api/v1/users/{volunteer.id}", headers=leader)
    etag = current.headers["etag"]
    first = await client.patch(
        f"/api/v1/users/{volunteer.id}", json={"name": "A"}, headers={**leader, "If-Match": etag}
    )
    assert first.status_code == 200
    stale = await client.patch(
        f"/api/v1/users/{volunteer.id}", json={"name": "B"}, headers={**leader, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == first.json()["version"]
    assert (await client.get(f"/api/v1/users/{volunteer.id}", headers=leader)).json()["name"] == "A"


async def test_changing_your_password_needs_the_current_one(client, world):
    headers = world.headers(Role.VOLUNTEER)
    wrong = {"password": {"current_password": "nope", "new_password": "a brand new password"}}
    assert (await client.patch("/api/v1/me", json=wrong, headers=headers)).status_code == 403
    right = {"password": {"current_password": "correct horse 42", "new_password": "a brand new password"}}
    assert (await client.patch("/api/v1/me", json=right, headers=headers)).status_code == 200
    phone = world.phones[world.user(Role.VOLUNTEER).id]
    signed_in = await client.post(
        "/api/v1/auth/token", data={"username": phone, "password": "a brand new password"}
    )
    assert signed_in.status_code == 200


async def test_a_new_user_gets_a_welcome_notification_through_the_outbox(client, world, redis, run_worker):
    response = await client.post("/api/v1/users", json=new_user(world), headers=world.headers(Role.LEADER))
    user_id = response.json()["id"]
    assert (await run_worker()).jobs_complete == 1
    token = (
        await client.post(
            "/api/v1/auth/token", data={"username": "13712345678", "password": "a long enough password"}
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    inbox = (await client.get("/api/v1/me/notifications", params={"unread": "true"}, headers=headers)).json()
    [message] = inbox["items"]
    assert message["kind"] == "account.created"
    assert message["read_at"] is None
    read = await client.post(f"/api/v1/me/notifications/{message['id']}/read", headers=headers)
    assert read.json()["read_at"] is not None
    unread = (await client.get("/api/v1/me/notifications", params={"unread": "true"}, headers=headers)).json()
    assert unread["items"] == []
    assert user_id


async def test_delivering_a_notification_twice_writes_it_once(world, settings, session_factory):
    from yijing.jobs import service
    from yijing.notifications.jobs import DELIVER

    payload = {
        "recipients": [str(world.user(Role.OFFICER).id)] * 2,
        "kind": "alert",
        "title": "通报",
        "body": "今晚加强巡逻",
        "dedupe_key": "bulletin:1",
    }
    before = await count_rows(session_factory, Notification)
    first = await service.execute(session_factory, settings, DELIVER, payload)
    second = await service.execute(session_factory, settings, DELIVER, payload)
    assert (first.result, second.result) == ({"delivered": 1}, {"delivered": 0})
    assert await count_rows(session_factory, Notification) == before + 1


async def test_mark_all_read(client, world):
    headers = world.headers(Role.OFFICER)
    assert (await client.post("/api/v1/me/notifications/read-all", headers=headers)).json() == {"marked": 1}
    assert (await client.post("/api/v1/me/notifications/read-all", headers=headers)).json() == {"marked": 0}


async def test_the_audit_log_is_append_only(world, session_factory):
    from sqlalchemy.exc import DBAPIError

    async with session_factory() as session:
        await session.execute(
            text(
                "INSERT INTO audit_events (id, occurred_at, actor_type, action, target_type, changes) "
                "VALUES (gen_random_uuid(), now(), 'system', 'test', 'test', '{}')"
            )
        )
        await session.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("UPDATE audit_events SET action = 'tampered'"))
        await session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("DELETE FROM audit_events"))
        await session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("TRUNCATE audit_events"))
        await session.rollback()


async def test_leaders_see_their_stations_audit_events_and_admins_all(client, world):
    await client.post("/api/v1/users", json=new_user(world), headers=world.headers(Role.LEADER))
    other_user = new_user(world, phone="13712340000", station_id=str(world.other.station.id))
    other_user["id_card_number"] = id_card_number(80)
    await client.post("/api/v1/users", json=other_user, headers=world.headers(Role.LEADER, "other"))
    own = (
        await client.get(
            "/api/v1/audit-events", params={"action": "user.create"}, headers=world.headers(Role.LEADER)
        )
    ).json()
    assert [event["station_id"] for event in own["items"]] == [str(world.own.station.id)]
    every = (
        await client.get(
            "/api/v1/audit-events", params={"action": "user.create"}, headers=world.headers(Role.ADMIN)
        )
    ).json()
    assert len(every["items"]) == 2


async def test_every_write_leaves_an_audit_event(client, world, session_factory):
    admin, leader = world.headers(Role.ADMIN), world.headers(Role.LEADER)
    station = (
        await client.post("/api/v1/stations", json={"name": "新站", "division_code": "350121"}, headers=admin)
    ).json()
    await client.patch(f"/api/v1/stations/{station['id']}", json={"name": "新站二"}, headers=admin)
    site = (
        await client.post("/api/v1/sites", json={"station_id": station["id"], "name": "广场"}, headers=admin)
    ).json()
    await client.patch(f"/api/v1/sites/{site['id']}", json={"kind": "plaza"}, headers=admin)
    await client.delete(f"/api/v1/sites/{site['id']}", headers=admin)
    await client.delete(f"/api/v1/stations/{station['id']}", headers=admin)
    user = (await client.post("/api/v1/users", json=new_user(world), headers=leader)).json()
    await client.patch(f"/api/v1/users/{user['id']}", json={"name": "改名"}, headers=leader)
    key = (
        await client.post("/api/v1/api-keys", json={"name": "k", "scopes": ["stats:read"]}, headers=admin)
    ).json()
    await client.post(f"/api/v1/api-keys/{key['id']}/revoke", headers=admin)
    await client.patch("/api/v1/me", json={"name": "我"}, headers=leader)
    await client.post("/api/v1/auth/logout", headers=leader)
    async with session_factory() as session:
        actions = set((await session.scalars(select(col(AuditEvent.action)))).all())
    assert actions >= {
        "station.create", "station.update", "station.delete", "site.create", "site.update", "site.delete",
        "user.create", "user.update", "user.update_self", "api_key.create", "api_key.revoke", "auth.logout",
    }  # fmt: skip


async def test_a_leader_cannot_change_a_peer_leader(client, world):
    """Otherwise a leader could make a second leader, reset their password and sign in as them."""
    peer = world.own.users[Role.LEADER]
    other_leader = await client.post(
        "/api/v1/users", json=new_user(world, "leader"), headers=world.headers(Role.ADMIN)
    )
    assert other_leader.status_code == 201
    response = await client.patch(
        f"/api/v1/users/{other_leader.json()['id']}",
        json={"password": "taken over by a peer"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 403
    assert peer.role is Role.LEADER


async def test_nobody_changes_their_own_account_through_users(client, world):
    leader = world.user(Role.LEADER)
    response = await client.patch(
        f"/api/v1/users/{leader.id}",
        json={"password": "no current password asked"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 403
    admin = await client.patch(
        f"/api/v1/users/{world.admin.id}", json={"is_active": False}, headers=world.headers(Role.ADMIN)
    )
    assert admin.status_code == 403


async def test_an_admin_manages_other_admins(client, world):
    created = await client.post(
        "/api/v1/users", json=new_user(world, "admin"), headers=world.headers(Role.ADMIN)
    )
    response = await client.patch(
        f"/api/v1/users/{created.json()['id']}", json={"is_active": False}, headers=world.headers(Role.ADMIN)
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False


async def test_a_leader_cannot_see_an_admin_at_all(client, world):
    response = await client.get(
        f"/api/v1/users/{world.admin.id}",
        params={"reveal": "personal_data"},
        headers=world.headers(Role.LEADER),
    )
    assert response.status_code == 404


async def test_changing_your_password_signs_out_your_other_sessions(client, world):
    phone = world.phones[world.user(Role.VOLUNTEER).id]
    lost_phone = (
        await client.post("/api/v1/auth/token", data={"username": phone, "password": "correct horse 42"})
    ).json()
    headers = world.headers(Role.VOLUNTEER)
    change = {"password": {"current_password": "correct horse 42", "new_password": "a brand new password"}}
    assert (await client.patch("/api/v1/me", json=change, headers=headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    lost = {"Authorization": f"Bearer {lost_phone['access_token']}"}
    assert (await client.get("/api/v1/me", headers=lost)).status_code == 401
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": lost_phone["refresh_token"]})
    assert refreshed.status_code == 401


async def test_an_officer_made_volunteer_leaves_their_sites(client, world):
    admin = world.headers(Role.ADMIN)
    officer = world.user(Role.OFFICER)
    await client.patch(
        f"/api/v1/users/{officer.id}", json={"site_ids": [str(world.own.site.id)]}, headers=admin
    )
    response = await client.patch(f"/api/v1/users/{officer.id}", json={"role": "volunteer"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["site_ids"] == []


async def test_a_users_list_reads_each_users_sites_on_every_page(client, world):
    """Read lean: the sites of a whole page in one query, each user given their own."""
    leader = world.headers(Role.LEADER)
    plaza = await client.post(
        "/api/v1/sites", json={"station_id": str(world.own.station.id), "name": "广场"}, headers=leader
    )
    both = sorted([str(world.own.site.id), plaza.json()["id"]])
    created = [
        await client.post("/api/v1/users", json=body, headers=leader)
        for body in (
            new_user(world, "officer", site_ids=both),
            new_user(world, "assistant", phone="13712345670", id_card_number=id_card_number(79),
                     site_ids=[plaza.json()["id"]]),
        )
    ]  # fmt: skip
    assert [response.status_code for response in created] == [201, 201]
    gets = {}
    for response in created:
        read = await client.get(f"/api/v1/users/{response.json()['id']}", headers=leader)
        gets[response.json()["id"]] = read.json()
    assert [read["site_ids"] for read in gets.values()] == [both, [plaza.json()["id"]]]
    listed = (await client.get("/api/v1/users", params={"limit": 50}, headers=leader)).json()["items"]
    paged, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/users", params=params, headers=leader)).json()
        paged.extend(page["items"])
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == listed
    assert [user for user in listed if user["id"] in gets] == list(gets.values())
    assert all(user["site_ids"] == [] for user in listed if user["id"] not in gets)
    assert list(listed[0]) == list(UserRead.model_fields)
