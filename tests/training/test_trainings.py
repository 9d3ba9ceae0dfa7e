"""Trainings: scheduling one for an audience that enrolment follows, bad input named by its field, who sees
what, changes and cancelling only before the start (the enrolled volunteers told)."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from tests.platform.test_round_trips import counting
from tests.world import new_volunteer, suspend_volunteer
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.db import session_scope
from yijing.groups.models import Group, GroupMembership
from yijing.ids import utcnow
from yijing.org.models import Site
from yijing.outbox.models import OutboxMessage
from yijing.training.models import Training, TrainingAttendance
from yijing.volunteers.models import Volunteer, VolunteerStatus

TRAININGS = "/api/v1/trainings"


def training_body(world, side: str = "own", *, starts_at: datetime | None = None, **fields) -> dict:
    """An offline hour for the place's site, starting tomorrow unless ``starts_at`` is given."""
    begin = starts_at or utcnow() + timedelta(days=1)
    body = {
        "station_id": str(getattr(world, side).station.id),
        "title": "十一月义警培训：消防隐患排查",
        "topics": ["hazard_inspection"],
        "mode": "offline",
        "starts_at": begin.isoformat(),
        "ends_at": (begin + timedelta(hours=1)).isoformat(),
        "place": "甘蔗派出所三楼会议室",
        "trainer": "林警官",
        "audience": {"site_ids": [str(getattr(world, side).site.id)]},
    }
    return body | fields


async def schedule(client, world, role: Role = Role.OFFICER, side: str = "own", **fields) -> dict:
    response = await client.post(
        TRAININGS, json=training_body(world, side, **fields), headers=world.headers(role, side)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def enrolled_ids(client, world, training_id: str) -> set[str]:
    response = await client.get(f"{TRAININGS}/{training_id}/attendance", headers=world.headers(Role.OFFICER))
    assert response.status_code == 200, response.text
    return {row["volunteer_id"] for row in response.json()}


async def add_volunteer(session_factory, world, serial: int, *, site=None, **fields) -> Volunteer:
    async with session_scope(session_factory) as session:
        volunteer = new_volunteer(world.settings, site or world.own.site, serial, **fields)
        session.add(volunteer)
    return volunteer


async def add_site(session_factory, world, name: str = "滨河路商铺区") -> Site:
    async with session_scope(session_factory) as session:
        site = Site(station_id=world.own.station.id, name=name)
        session.add(site)
    return site


async def audit_actions(session_factory, training_id: str) -> list[str]:
    async with session_factory() as session:
        query = select(col(AuditEvent.action)).where(col(AuditEvent.target_id) == training_id)
        return list((await session.scalars(query.order_by(col(AuditEvent.id)))).all())


async def test_an_officer_schedules_a_training_for_a_site(client, world, session_factory):
    response = await client.post(TRAININGS, json=training_body(world), headers=world.headers(Role.OFFICER))

    assert response.status_code == 201, response.text
    training = response.json()
    assert response.headers["location"] == f"/api/v1/trainings/{training['id']}"
    assert response.headers["etag"] == '"1"'
    assert (training["status"], training["enrolled"], training["required"]) == ("scheduled", 1, True)
    assert training["audience"] == [
        {"kind": "site", "site_id": str(world.own.site.id), "group_id": None, "volunteer_id": None}
    ]
    assert training["created_by"] == str(world.user(Role.OFFICER).id)
    assert "code_secret" not in training
    assert await enrolled_ids(client, world, training["id"]) == {str(world.own.volunteer.id)}
    assert await audit_actions(session_factory, training["id"]) == ["training.create"]
    fetched = await client.get(f"{TRAININGS}/{training['id']}", headers=world.headers(Role.ASSISTANT))
    assert (fetched.status_code, fetched.headers["etag"]) == (200, '"1"')
    assert fetched.json() == training


async def test_enrolment_follows_the_audience(client, world, session_factory):
    """A site's active volunteers, a group's current members and the volunteers named, once each; a suspended
    volunteer and a former group member are not enrolled, and a new audience replaces the old one."""
    site = await add_site(session_factory, world)
    await add_volunteer(session_factory, world, 801, status=VolunteerStatus.SUSPENDED)
    member = await add_volunteer(session_factory, world, 802, site=site)
    former = await add_volunteer(session_factory, world, 803, site=site)
    named = await add_volunteer(session_factory, world, 804, site=site)
    async with session_scope(session_factory) as session:
        group = Group(station_id=world.own.station.id, site_id=site.id, name="第2组")
        session.add(group)
        await session.flush()
        session.add_all([
            GroupMembership(group_id=group.id, volunteer_id=member.id),
            GroupMembership(
                group_id=group.id, volunteer_id=former.id, joined_at=utcnow() - timedelta(days=9),
                left_at=utcnow() - timedelta(days=1),
            ),
        ])  # fmt: skip
    training = await schedule(client, world)
    # The suspended volunteer of the site is not enrolled.
    assert await enrolled_ids(client, world, training["id"]) == {str(world.own.volunteer.id)}

    audience = {
        "site_ids": [str(world.own.site.id)],
        "group_ids": [str(group.id), str(world.own.group.id)],  # the site's volunteer again: once
        "volunteer_ids": [str(named.id), str(member.id)],
    }
    response = await client.patch(
        f"{TRAININGS}/{training['id']}", json={"audience": audience},
        headers=world.headers(Role.OFFICER) | {"If-Match": '"1"'},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert (response.json()["enrolled"], response.headers["etag"]) == (3, '"2"')
    assert await enrolled_ids(client, world, training["id"]) == {
        str(world.own.volunteer.id), str(member.id), str(named.id)
    }  # fmt: skip
    async with session_factory() as session:
        sites = await session.scalars(
            select(col(TrainingAttendance.site_id)).where(
                col(TrainingAttendance.training_id) == uuid.UUID(training["id"]),
                col(TrainingAttendance.volunteer_id) == member.id,
            )
        )
        assert sites.all() == [site.id]

    # The site dropped: its volunteer's empty row goes; an excused one stays.
    await client.post(
        f"{TRAININGS}/{training['id']}/attendance/{named.id}/excuse", json={"reason": "出摊"},
        headers=world.headers(Role.OFFICER),
    )  # fmt: skip
    response = await client.patch(
        f"{TRAININGS}/{training['id']}", json={"audience": {"volunteer_ids": [str(member.id)]}},
        headers=world.headers(Role.OFFICER),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert await enrolled_ids(client, world, training["id"]) == {str(member.id), str(named.id)}


BAD_INPUT = [
    ("ends_before_start", "body.ends_at", lambda w, b: {"ends_at": b["starts_at"]}),
    (
        "too_long",
        "body.ends_at",
        lambda w, b: {"ends_at": (datetime.fromisoformat(b["starts_at"]) + timedelta(hours=13)).isoformat()},
    ),
    ("place_missing", "body.place", lambda w, b: {"place": None}),
    (
        "place_missing",
        "body.place",
        lambda w, b: {"mode": "hybrid", "meeting_url": "https://m.qq.com/a", "place": None},
    ),
    ("meeting_url_missing", "body.meeting_url", lambda w, b: {"mode": "online"}),
    ("audience_empty", "body.audience", lambda w, b: {"audience": {}}),
    (
        "unknown_site",
        "body.audience.site_ids",
        lambda w, b: {"audience": {"site_ids": [str(w.other.site.id)]}},
    ),
    (
        "unknown_group",
        "body.audience.group_ids",
        lambda w, b: {"audience": {"group_ids": [str(w.other.group.id)]}},
    ),
    (
        "unknown_volunteer",
        "body.audience.volunteer_ids",
        lambda w, b: {"audience": {"volunteer_ids": [str(w.other.volunteer.id), str(w.own.volunteer.id)]}},
    ),
]


@pytest.mark.parametrize(
    ("code", "field", "change"), BAD_INPUT, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(BAD_INPUT)]
)
async def test_bad_input_is_refused_naming_the_field(client, world, code, field, change):
    body = training_body(world)
    body |= change(world, body)

    response = await client.post(TRAININGS, json=body, headers=world.headers(Role.OFFICER))

    assert response.status_code == 422, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]


async def test_a_bad_change_is_refused_naming_the_field(client, world):
    training = await schedule(client, world)
    url = f"{TRAININGS}/{training['id']}"
    for change, field, code in (
        ({"ends_at": training["starts_at"]}, "body.ends_at", "ends_before_start"),
        ({"mode": "online", "place": None}, "body.meeting_url", "meeting_url_missing"),
        ({"audience": {"site_ids": [str(world.other.site.id)]}}, "body.audience.site_ids", "unknown_site"),
    ):
        response = await client.patch(url, json=change, headers=world.headers(Role.OFFICER))
        assert response.status_code == 422, response.text
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    response = await client.get(url, headers=world.headers(Role.OFFICER))
    assert response.json() == training


async def test_a_volunteer_cannot_schedule_a_training(client, world):
    response = await client.post(TRAININGS, json=training_body(world), headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 403, response.text


async def test_another_stations_trainings_are_not_found(client, world):
    headers = world.headers(Role.OFFICER)
    other = world.other.training.id
    response = await client.post(TRAININGS, json=training_body(world, "other"), headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "station_not_found")
    assert (await client.get(f"{TRAININGS}/{other}", headers=headers)).status_code == 404
    patched = await client.patch(f"{TRAININGS}/{other}", json={"title": "改"}, headers=headers)
    assert patched.status_code == 404
    cancelled = await client.post(f"{TRAININGS}/{other}/cancel", json={"reason": "改期"}, headers=headers)
    assert cancelled.status_code == 404
    listed = await client.get(TRAININGS, headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [str(world.own.training.id)]


async def test_a_volunteer_sees_only_the_trainings_they_are_enrolled_in(client, world, session_factory):
    other_site = await add_site(session_factory, world)
    await add_volunteer(session_factory, world, 811, site=other_site)
    elsewhere = await schedule(client, world, audience={"site_ids": [str(other_site.id)]})
    mine = await schedule(client, world, audience={"site_ids": [str(world.own.site.id), str(other_site.id)]})
    headers = world.headers(Role.VOLUNTEER)

    listed = await client.get(TRAININGS, headers=headers)

    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [str(world.own.training.id), mine["id"]]
    assert (await client.get(f"{TRAININGS}/{elsewhere['id']}", headers=headers)).status_code == 404
    rows = await client.get(f"{TRAININGS}/{mine['id']}/attendance", headers=headers)
    assert rows.status_code == 200, rows.text
    assert [row["volunteer_id"] for row in rows.json()] == [str(world.own.volunteer.id)]
    assert len(await enrolled_ids(client, world, mine["id"])) == 2


async def test_the_list_filters_and_pages_by_start(client, world, session_factory):
    later = await schedule(client, world, starts_at=utcnow() + timedelta(days=3), mode="online",
                           place=None, meeting_url="https://meeting.tencent.com/dm/1")  # fmt: skip
    headers = world.headers(Role.OFFICER)
    first = await client.get(TRAININGS, params={"limit": 1}, headers=headers)
    assert [item["id"] for item in first.json()["items"]] == [str(world.own.training.id)]
    cursor = first.json()["next_cursor"]
    second = await client.get(TRAININGS, params={"limit": 1, "cursor": cursor}, headers=headers)
    assert [item["id"] for item in second.json()["items"]] == [later["id"]]
    online = await client.get(TRAININGS, params={"mode": "online"}, headers=headers)
    assert [item["id"] for item in online.json()["items"]] == [later["id"]]
    after = (utcnow() + timedelta(days=2)).isoformat()
    starting = await client.get(TRAININGS, params={"starts_after": after}, headers=headers)
    assert [item["id"] for item in starting.json()["items"]] == [later["id"]]
    by_topic = await client.get(TRAININGS, params={"topic": "laws_regulations"}, headers=headers)
    assert [item["id"] for item in by_topic.json()["items"]] == [str(world.own.training.id)]


async def test_a_change_needs_the_current_version(client, world):
    training = await schedule(client, world)
    url = f"{TRAININGS}/{training['id']}"
    headers = world.headers(Role.OFFICER)
    stale = await client.patch(url, json={"title": "改"}, headers=headers | {"If-Match": '"2"'})
    assert stale.status_code == 412, stale.text
    # Fields and the audience together: one new version.
    change = {"title": "改", "required": False, "audience": {"group_ids": [str(world.own.group.id)]}}
    changed = await client.patch(url, json=change, headers=headers | {"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["required"], changed.headers["etag"]) == (
        "改",
        False,
        '"2"',
    )


async def test_a_started_training_is_not_changed_or_cancelled(client, world, session_factory):
    training = await schedule(client, world, starts_at=utcnow() - timedelta(minutes=5))
    url = f"{TRAININGS}/{training['id']}"
    headers = world.headers(Role.OFFICER)

    patched = await client.patch(url, json={"title": "改"}, headers=headers)
    cancelled = await client.post(f"{url}/cancel", json={"reason": "改期"}, headers=headers)

    assert (patched.status_code, patched.json()["code"]) == (409, "training_started")
    assert (cancelled.status_code, cancelled.json()["code"]) == (409, "training_started")
    assert (await client.get(url, headers=headers)).json() == training


async def cancelled_notices(session_factory) -> list[dict]:
    async with session_factory() as session:
        messages = (await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    payloads = [message.arguments["payload"] for message in messages]
    return [payload for payload in payloads if payload.get("kind") == "training.cancelled"]


async def test_cancelling_notifies_the_enrolled_volunteers(client, world, session_factory):
    unlinked = await add_volunteer(session_factory, world, 821)  # no account: nobody to tell
    training = await schedule(client, world)
    assert training["enrolled"] == 2
    url = f"{TRAININGS}/{training['id']}"
    headers = world.headers(Role.OFFICER)

    response = await client.post(
        f"{url}/cancel", json={"reason": "台风预警，改期"}, headers=headers | {"If-Match": '"1"'}
    )

    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["status"], cancelled["cancel_reason"], response.headers["etag"]) == (
        "cancelled", "台风预警，改期", '"2"'
    )  # fmt: skip
    assert cancelled["cancelled_at"] is not None
    [notice] = await cancelled_notices(session_factory)
    assert notice["recipients"] == [str(world.user(Role.VOLUNTEER).id)]
    assert (notice["title"], notice["link"]) == ("培训取消", f"/api/v1/trainings/{training['id']}")
    assert notice["body"].startswith(training["title"])
    assert world.own.volunteer.name not in notice["body"]
    assert unlinked.name not in notice["body"]
    assert await audit_actions(session_factory, training["id"]) == ["training.create", "training.cancel"]

    again = await client.post(f"{url}/cancel", json={"reason": "再取消"}, headers=headers)
    patched = await client.patch(url, json={"title": "改"}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "training_not_open")
    assert (patched.status_code, patched.json()["code"]) == (409, "training_not_open")
    assert len(await cancelled_notices(session_factory)) == 1


async def test_a_settled_training_is_not_cancelled(client, world, session_factory):
    training = await schedule(client, world)
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Training)
            .where(col(Training.id) == uuid.UUID(training["id"]))
            .values(status="settled", rule_version=0)
        )
    response = await client.post(
        f"{TRAININGS}/{training['id']}/cancel", json={"reason": "改期"}, headers=world.headers(Role.OFFICER)
    )
    assert (response.status_code, response.json()["code"]) == (409, "training_not_open")


async def test_a_suspended_volunteer_still_sees_their_trainings(client, world, session_factory):
    """A volunteer's reach is the trainings they are enrolled in, whatever their status now."""
    await suspend_volunteer(session_factory, world.own.volunteer.id)
    headers = world.headers(Role.VOLUNTEER)
    training = f"{TRAININGS}/{world.own.training.id}"

    listed = await client.get(TRAININGS, headers=headers)

    assert [item["id"] for item in listed.json()["items"]] == [str(world.own.training.id)]
    assert (await client.get(training, headers=headers)).status_code == 200
    rows = await client.get(f"{training}/attendance", headers=headers)
    assert [row["volunteer_id"] for row in rows.json()] == [str(world.own.volunteer.id)]


@pytest.mark.committed  # counted on the pool's connections, as tests/platform/test_round_trips.py does
async def test_a_page_reads_the_audiences_and_counts_of_all_its_trainings_at_once(
    client, world, session_factory, engine
):
    """Each training of a page with its own audience and enrolment count, as its get answers it, on one page
    or across pages; read for the whole page at once: a page of four takes the round trips a page of one
    does."""
    named = await add_volunteer(session_factory, world, 821)  # of the own site
    empty_site = await add_site(session_factory, world)
    own_site = str(world.own.site.id)
    audiences = [
        {"volunteer_ids": [str(named.id)]},
        {"site_ids": [own_site, str(empty_site.id)]},
        {"site_ids": [own_site], "volunteer_ids": [str(named.id)]},
    ]
    later = [
        await schedule(client, world, starts_at=utcnow() + timedelta(days=2 + n), audience=audience)
        for n, audience in enumerate(audiences)
    ]
    headers = world.headers(Role.OFFICER)
    ids = [str(world.own.training.id), *(training["id"] for training in later)]
    fetched = [
        (await client.get(f"{TRAININGS}/{training_id}", headers=headers)).json() for training_id in ids
    ]
    assert [(len(training["audience"]), training["enrolled"]) for training in fetched] == [
        (1, 1), (1, 1), (2, 2), (2, 2),
    ]  # fmt: skip

    whole = await client.get(TRAININGS, params={"limit": 4}, headers=headers)

    assert whole.json() == {"items": fetched, "next_cursor": None}
    paged, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(TRAININGS, params=params, headers=headers)).json()
        paged.extend(page["items"])
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == fetched
    with counting(engine) as one:
        await client.get(TRAININGS, params={"limit": 1}, headers=headers)
    with counting(engine) as four:
        await client.get(TRAININGS, params={"limit": 4}, headers=headers)
    assert len(one) == len(four), (one, four)
