"""Volunteers: enrolment, duplicates, the status lifecycle, search, scoping and a volunteer's own record."""

import itertools

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from tests.world import id_card_number
from yijing.access import Role
from yijing.audit.models import AuditEvent
from yijing.personal import id_card_check_code
from yijing.volunteers.models import Volunteer, VolunteerStatus
from yijing.volunteers.service import LIFECYCLE, VolunteerAction

_serials = itertools.count(100)


def volunteer_body(world, place: str = "own", **fields) -> dict:
    serial = next(_serials)
    site = getattr(world, place).site
    body = {
        "name": f"陈美华{serial}",
        "gender": "female",
        "phone": f"136{serial:08d}",
        "id_card_number": id_card_number(serial),
        "site_id": str(site.id),
        "source": "stall_operator",
        "household_name": f"A-{serial} 鱼丸摊",
        "badge_number": f"GZ-{serial}",
        "skills": ["急救", "调解"],
    }
    return body | fields


async def enrol(client, world, role: Role = Role.OFFICER, place: str = "own", **fields) -> dict:
    response = await client.post(
        "/api/v1/volunteers", json=volunteer_body(world, place, **fields), headers=world.headers(role, place)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_officer_enrols_a_volunteer_with_masked_personal_data(client, world, session_factory):
    body = volunteer_body(world)
    response = await client.post("/api/v1/volunteers", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 201, response.text
    volunteer = response.json()
    assert response.headers["location"] == f"/api/v1/volunteers/{volunteer['id']}"
    assert response.headers["etag"] == '"1"'
    assert volunteer["station_id"] == str(world.own.station.id)
    assert volunteer["status"] == "active"
    assert volunteer["phone"] == body["phone"][:3] + "****" + body["phone"][-4:]
    assert volunteer["id_card_number"] == body["id_card_number"][:4] + "*" * 10 + body["id_card_number"][-4:]
    assert volunteer["personal_data"] == "masked"
    assert volunteer["joined_on"]  # today, in the station's time zone
    async with session_factory() as session:
        event = await session.scalar(select(AuditEvent).where(col(AuditEvent.action) == "volunteer.create"))
    assert event.changes["id_card_number"] == "[changed]"
    assert body["id_card_number"] not in str(event.changes)


async def test_the_same_person_twice_in_a_station_is_409_naming_the_first(client, world):
    first = await enrol(client, world)
    body = volunteer_body(world, id_card_number=id_card_number(int(first["name"][3:])))
    response = await client.post("/api/v1/volunteers", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "volunteer_exists"
    assert problem["existing_volunteer_id"] == first["id"]
    assert first["id"] in problem["detail"]
    # Another station may enrol the same person.
    other = volunteer_body(world, "other", id_card_number=body["id_card_number"])
    response = await client.post(
        "/api/v1/volunteers", json=other, headers=world.headers(Role.OFFICER, "other")
    )
    assert response.status_code == 201, response.text


async def test_badge_numbers_are_unique_per_station(client, world):
    first = await enrol(client, world, badge_number="GZ-0001")
    response = await client.post(
        "/api/v1/volunteers",
        json=volunteer_body(world, badge_number="GZ-0001"),
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "badge_number_taken"
    assert response.json()["existing_volunteer_id"] == first["id"]
    await enrol(client, world, place="other", badge_number="GZ-0001")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id_card_number", "350121198001011230"),  # wrong check digit
        ("phone", "12345678901"),
        ("source", "wizard"),
        ("gender", "unknown"),
        ("joined_on", "2023-02-30"),
        ("joined_on", 1690000000),
        ("badge_number", "GZ 01"),
        ("skills", ["a,b"]),
        ("status", "retired"),
    ],
)
async def test_bad_input_is_422_and_enrols_nobody(client, world, session_factory, field, value):
    response = await client.post(
        "/api/v1/volunteers",
        json=volunteer_body(world, **{field: value}),
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].startswith(f"body.{field}")
    async with session_factory() as session:
        assert len((await session.scalars(select(Volunteer))).all()) == 2  # the world's own two


async def test_a_site_of_another_station_is_404(client, world):
    body = volunteer_body(world, site_id=str(world.other.site.id))
    response = await client.post("/api/v1/volunteers", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 404
    assert response.json()["code"] == "site_not_found"


async def set_status(session_factory, volunteer_id, status: VolunteerStatus) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Volunteer).where(col(Volunteer.id) == volunteer_id).values(status=status)
        )


@pytest.mark.parametrize(
    ("status", "action"),
    list(itertools.product(VolunteerStatus, VolunteerAction)),
    ids=lambda value: str(value),
)
async def test_every_lifecycle_action_from_every_status(client, world, session_factory, status, action):
    volunteer = await enrol(client, world)
    await set_status(session_factory, volunteer["id"], status)
    response = await client.post(
        f"/api/v1/volunteers/{volunteer['id']}/{action}",
        json={"reason": "季度评议"},
        headers=world.headers(Role.OFFICER),
    )
    sources, target = LIFECYCLE[action]
    if status in sources:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
    else:
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["code"] == "transition_not_allowed"
        assert problem["current_status"] == status
        assert problem["allowed_actions"] == [
            name for name, (allowed, _) in LIFECYCLE.items() if status in allowed
        ]
        for allowed_action in problem["allowed_actions"]:
            assert allowed_action in problem["detail"]


async def test_the_lifecycle_is_recorded_with_reasons_and_actors(client, world):
    volunteer = await enrol(client, world, status="applied")
    officer = world.headers(Role.OFFICER)
    steps = [
        ("activate", "面试通过"),
        ("suspend", "连续两月未参加培训"),
        ("reinstate", "已补训"),
        ("retire", "迁出辖区"),
    ]
    for action, reason in steps:
        response = await client.post(
            f"/api/v1/volunteers/{volunteer['id']}/{action}", json={"reason": reason}, headers=officer
        )
        assert response.status_code == 200, response.text
    assert response.json()["version"] == 5
    history = (
        await client.get(f"/api/v1/volunteers/{volunteer['id']}/status-history", headers=officer)
    ).json()
    assert [(entry["from_status"], entry["to_status"], entry["action"]) for entry in history] == [
        (None, "applied", "enrol"),
        ("applied", "active", "activate"),
        ("active", "suspended", "suspend"),
        ("suspended", "active", "reinstate"),
        ("active", "retired", "retire"),
    ]
    assert [entry["reason"] for entry in history[1:]] == [reason for _, reason in steps]
    assert {entry["actor_id"] for entry in history} == {str(world.user(Role.OFFICER).id)}
    # Retired is final.
    response = await client.post(
        f"/api/v1/volunteers/{volunteer['id']}/reinstate", json={"reason": "x"}, headers=officer
    )
    assert response.status_code == 409
    assert response.json()["allowed_actions"] == []


async def test_an_action_needs_a_reason_and_a_fresh_version(client, world):
    volunteer = await enrol(client, world)
    url = f"/api/v1/volunteers/{volunteer['id']}/suspend"
    for body in ({}, {"reason": "   "}):
        response = await client.post(url, json=body, headers=world.headers(Role.OFFICER))
        assert response.status_code == 422
    stale = world.headers(Role.OFFICER) | {"If-Match": '"7"'}
    response = await client.post(url, json={"reason": "x"}, headers=stale)
    assert response.status_code == 412
    assert response.json()["current_version"] == 1


async def test_a_linked_volunteer_is_told_of_a_status_change(client, world, session_factory, run_worker):
    volunteer_id = world.own.volunteer.id
    response = await client.post(
        f"/api/v1/volunteers/{volunteer_id}/suspend",
        json={"reason": "违规摆摊"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200
    await run_worker()
    inbox = (await client.get("/api/v1/me/notifications", headers=world.headers(Role.VOLUNTEER))).json()[
        "items"
    ]
    status_notes = [note for note in inbox if note["kind"] == "volunteer.status_changed"]
    assert len(status_notes) == 1
    assert "暂停" in status_notes[0]["body"]
    assert "违规摆摊" in status_notes[0]["body"]


async def test_an_update_moves_sites_clears_fields_and_audits_personal_data_by_name(
    client, world, session_factory
):
    volunteer = await enrol(client, world)
    async with session_factory() as session, session.begin():
        from yijing.org.models import Site

        second = Site(station_id=world.own.station.id, name="万家广场")
        session.add(second)
    officer = world.headers(Role.OFFICER) | {"If-Match": '"1"'}
    body = {"site_id": str(second.id), "badge_number": None, "phone": "13900001111", "name": None}
    response = await client.patch(f"/api/v1/volunteers/{volunteer['id']}", json=body, headers=officer)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["site_id"] == str(second.id)
    assert changed["badge_number"] is None
    assert changed["name"] == volunteer["name"]  # null leaves a required field as it is
    assert changed["phone"] == "139****1111"
    assert changed["version"] == 2
    async with session_factory() as session:
        event = await session.scalar(select(AuditEvent).where(col(AuditEvent.action) == "volunteer.update"))
    assert event.changes == {"site_id": str(second.id), "badge_number": None, "phone": "[changed]"}
    # A site of another station is not the volunteer's to move to.
    response = await client.patch(
        f"/api/v1/volunteers/{volunteer['id']}",
        json={"site_id": str(world.other.site.id)},
        headers=world.headers(Role.ADMIN),
    )
    assert response.status_code == 404
    # Unchanged values change nothing (no new version).
    response = await client.patch(
        f"/api/v1/volunteers/{volunteer['id']}",
        json={"phone": "13900001111"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.json()["version"] == 2


async def test_linking_an_account(client, world):
    volunteer = await enrol(client, world)
    url = f"/api/v1/volunteers/{volunteer['id']}"
    officer = world.headers(Role.OFFICER)
    # Not a volunteer account, another station's account, an account linked already.
    response = await client.patch(url, json={"user_id": str(world.user(Role.ASSISTANT).id)}, headers=officer)
    assert response.status_code == 422
    response = await client.patch(
        url, json={"user_id": str(world.other.users[Role.VOLUNTEER].id)}, headers=officer
    )
    assert response.status_code == 404
    response = await client.patch(url, json={"user_id": str(world.user(Role.VOLUNTEER).id)}, headers=officer)
    assert response.status_code == 409
    assert response.json()["code"] == "account_already_linked"
    # Unlink the world's volunteer, then link its account here.
    response = await client.patch(
        f"/api/v1/volunteers/{world.own.volunteer.id}", json={"user_id": None}, headers=officer
    )
    assert response.json()["user_id"] is None
    response = await client.patch(url, json={"user_id": str(world.user(Role.VOLUNTEER).id)}, headers=officer)
    assert response.status_code == 200
    mine = await client.get("/api/v1/me/volunteer", headers=world.headers(Role.VOLUNTEER))
    assert mine.json()["id"] == volunteer["id"]


async def test_lists_filter_search_and_page(client, world):
    officer = world.headers(Role.OFFICER)
    a = await enrol(
        client, world, name="林阿姨", source="landlord", badge_number="GZ-7001", phone="13512345678"
    )
    b = await enrol(client, world, name="林大哥", status="applied")
    c = await enrol(client, world, name="王师傅", source="security_guard")
    await enrol(client, world, place="other", name="林外站")

    async def ids(**params) -> list[str]:
        response = await client.get("/api/v1/volunteers", params=params, headers=officer)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    world_volunteer = str(world.own.volunteer.id)
    assert await ids() == [world_volunteer, a["id"], b["id"], c["id"]]  # own station only, in creation order
    assert await ids(q="林") == [a["id"], b["id"]]
    assert await ids(q="GZ-7001") == [a["id"]]
    assert await ids(q="5678") == [a["id"]]  # a phone's last four digits
    assert await ids(q="%") == []  # wildcards are plain text
    assert await ids(status="applied") == [b["id"]]
    assert await ids(source="landlord") == [a["id"]]
    assert await ids(site_id=str(world.own.site.id), source="security_guard") == [c["id"]]
    assert await ids(station_id=str(world.other.station.id)) == []
    assert await ids(updated_after=c["updated_at"]) == []
    first = (await client.get("/api/v1/volunteers", params={"limit": 2}, headers=officer)).json()
    second = (
        await client.get(
            "/api/v1/volunteers", params={"limit": 2, "cursor": first["next_cursor"]}, headers=officer
        )
    ).json()
    assert [item["id"] for item in first["items"] + second["items"]] == [
        world_volunteer,
        a["id"],
        b["id"],
        c["id"],
    ]
    assert second["next_cursor"] is None
    # A county admin sees both stations.
    response = await client.get("/api/v1/volunteers", params={"q": "林"}, headers=world.headers(Role.ADMIN))
    assert len(response.json()["items"]) == 3


async def test_the_summary_counts_every_status_and_source(client, world):
    await enrol(client, world, source="landlord")
    await enrol(client, world, source="landlord", status="applied")
    await enrol(client, world, place="other")
    response = await client.get("/api/v1/volunteers/summary", headers=world.headers(Role.ASSISTANT))
    summary = response.json()
    assert summary["total"] == 3
    assert summary["by_status"] == {"applied": 1, "active": 2, "suspended": 0, "retired": 0}
    assert summary["by_source"]["landlord"] == 2
    assert summary["by_source"]["stall_operator"] == 1
    assert len(summary["by_source"]) == 9
    # A statistics key reads its own station's counts; another station's site is 404.
    key = {"X-API-Key": world.api_keys["stats"][1]}
    assert (await client.get("/api/v1/volunteers/summary", headers=key)).json()["total"] == 3
    response = await client.get(
        "/api/v1/volunteers/summary", params={"site_id": str(world.other.site.id)}, headers=key
    )
    assert response.status_code == 404
    response = await client.get("/api/v1/volunteers/summary", headers=world.headers(Role.ADMIN))
    assert response.json()["total"] == 5


async def test_full_personal_data_is_for_officers_and_up_and_is_audited(client, world, session_factory):
    body = volunteer_body(world)
    volunteer = (
        await client.post("/api/v1/volunteers", json=body, headers=world.headers(Role.OFFICER))
    ).json()
    url = f"/api/v1/volunteers/{volunteer['id']}?reveal=personal_data"
    response = await client.get(url, headers=world.headers(Role.ASSISTANT))
    assert response.status_code == 403
    response = await client.get(url, headers=world.headers(Role.OFFICER))
    assert response.status_code == 200
    assert response.json()["phone"] == body["phone"]
    assert response.json()["id_card_number"] == body["id_card_number"]
    assert response.json()["personal_data"] == "full"
    async with session_factory() as session:
        reads = (
            await session.scalars(
                select(AuditEvent).where(col(AuditEvent.action) == "volunteer.personal_data.read")
            )
        ).all()
    assert [event.actor_id for event in reads] == [world.user(Role.OFFICER).id]


@pytest.mark.parametrize("role", [Role.ASSISTANT, Role.OFFICER, Role.LEADER])
async def test_another_stations_volunteer_is_404_everywhere(client, world, role):
    other = world.other.volunteer.id
    headers = world.headers(role)
    assert (await client.get(f"/api/v1/volunteers/{other}", headers=headers)).status_code == 404
    assert (
        await client.patch(f"/api/v1/volunteers/{other}", json={"name": "x"}, headers=headers)
    ).status_code == 404
    response = await client.post(f"/api/v1/volunteers/{other}/suspend", json={"reason": "x"}, headers=headers)
    assert response.status_code == 404
    assert (
        await client.get(f"/api/v1/volunteers/{other}/status-history", headers=headers)
    ).status_code == 404


async def test_a_volunteer_reads_and_edits_only_their_own_limited_profile(client, world, session_factory):
    me = world.headers(Role.VOLUNTEER)
    assert (await client.get("/api/v1/volunteers", headers=me)).status_code == 403
    assert (await client.get(f"/api/v1/volunteers/{world.own.volunteer.id}", headers=me)).status_code == 403
    mine = await client.get("/api/v1/me/volunteer", headers=me)
    assert mine.status_code == 200
    assert mine.json()["id"] == str(world.own.volunteer.id)
    response = await client.patch(
        "/api/v1/me/volunteer",
        json={"skills": ["消防", "消防", "急救"], "household_address": "滨河路 3 号"},
        headers=me,
    )
    assert response.status_code == 200, response.text
    assert response.json()["skills"] == ["消防", "急救"]
    assert response.headers["etag"] == '"2"'
    for field, value in (
        ("badge_number", "GZ-9999"),
        ("status", "retired"),
        ("site_id", str(world.own.site.id)),
    ):
        response = await client.patch("/api/v1/me/volunteer", json={field: value}, headers=me)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == f"body.{field}"
    async with session_factory() as session:
        stored = await session.get(Volunteer, world.own.volunteer.id)
    assert stored.badge_number is None
    assert stored.status == VolunteerStatus.ACTIVE
    assert stored.version == 2
    stale = me | {"If-Match": '"1"'}
    assert (await client.patch("/api/v1/me/volunteer", json={"skills": []}, headers=stale)).status_code == 412
    # Staff accounts have no volunteer record.
    response = await client.get("/api/v1/me/volunteer", headers=world.headers(Role.OFFICER))
    assert response.status_code == 404
    assert response.json()["code"] == "volunteer_not_found"


async def test_a_site_with_volunteers_cannot_be_deleted(client, world):
    response = await client.delete(f"/api/v1/sites/{world.own.site.id}", headers=world.headers(Role.LEADER))
    assert response.status_code == 409
    assert response.json()["code"] == "site_in_use"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if char.isascii() and char.isdigit() else char for char in text)


@pytest.mark.parametrize("field", ["id_card_number", "phone"])
async def test_digits_of_other_scripts_are_not_digits(client, world, field):
    body = volunteer_body(world)
    body[field] = fullwidth(body[field])
    response = await client.post("/api/v1/volunteers", json=body, headers=world.headers(Role.OFFICER))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == f"body.{field}"


async def test_volunteers_are_adults_and_have_not_joined_in_the_future(client, world):
    officer = world.headers(Role.OFFICER)
    child = "350121" + "20150601" + "123"
    child += id_card_check_code(child)
    response = await client.post(
        "/api/v1/volunteers", json=volunteer_body(world, id_card_number=child), headers=officer
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "body.id_card_number",
            "message": "此人在加入之日未满 18 周岁",
            "code": "under_age",
        }
    ]
    response = await client.post(
        "/api/v1/volunteers", json=volunteer_body(world, joined_on="2099-01-01"), headers=officer
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "future_date"
    volunteer = await enrol(client, world)
    response = await client.patch(
        f"/api/v1/volunteers/{volunteer['id']}", json={"joined_on": "2099-01-01"}, headers=officer
    )
    assert response.status_code == 422


async def test_badges_are_capitals_and_whole_phones_are_searchable(client, world):
    volunteer = await enrol(client, world, badge_number="gz-0042", phone="13712340000")
    assert volunteer["badge_number"] == "GZ-0042"
    officer = world.headers(Role.OFFICER)
    for q in ("gz-0042", "13712340000", "137 1234 0000"):
        response = await client.get("/api/v1/volunteers", params={"q": q}, headers=officer)
        found = [item["id"] for item in response.json()["items"]]
        assert found == ([volunteer["id"]] if " " not in q else []), q


async def test_a_summary_of_a_station_out_of_reach_is_404_not_zero(client, world):
    response = await client.get(
        "/api/v1/volunteers/summary",
        params={"station_id": str(world.other.station.id)},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 404
    response = await client.get(
        "/api/v1/volunteers/summary",
        params={"station_id": str(world.own.station.id)},
        headers=world.headers(Role.OFFICER),
    )
    assert response.json()["total"] == 1


async def test_if_match_star_matches_any_version(client, world):
    volunteer = await enrol(client, world)
    response = await client.patch(
        f"/api/v1/volunteers/{volunteer['id']}",
        json={"name": "陈美"},
        headers=world.headers(Role.OFFICER) | {"If-Match": "*"},
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
