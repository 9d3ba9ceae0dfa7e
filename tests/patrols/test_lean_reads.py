"""Patrol reads are lean (columns read on the driver, read models built without validation): what a GET
answers is what the write that made the record answered, from its ORM record; a log page's entries each
carry their own photos, read for the whole page at once; a patrol out of reach is a 404 for its log and
check-ins as for itself."""

from tests.patrols.test_checkins import plan, scan, send
from tests.patrols.test_logs import entry, under_way, write
from tests.patrols.test_plans import plan_body
from tests.patrols.test_routes import add_checkpoint, new_route, route_url
from tests.world import World, png, suspend_volunteer
from yijing.access import Role

PATROLS = "/api/v1/patrols"


async def _read(client, world: World, path: str, role: Role = Role.OFFICER) -> dict:
    response = await client.get(path, headers=world.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_get_answers_what_the_write_answered(client, world):
    officer = world.headers(Role.OFFICER)
    patrol = await plan(client, world)
    assert await _read(client, world, f"{PATROLS}/{patrol['id']}") == patrol
    listed = await _read(client, world, f"{PATROLS}?route_id={patrol['route_id']}&limit=100")
    shown = {key: value for key, value in patrol.items() if key not in ("members", "leader")}
    assert shown in listed["items"]

    route = await new_route(client, world, name="夜市西段")
    await add_checkpoint(client, world, route["id"], name="西入口")
    await add_checkpoint(client, world, route["id"], name="消防栓", position=1, radius_m=50)
    retired = await client.post(route_url(route["id"], "retire"), headers=officer)
    assert retired.status_code == 200, retired.text
    assert await _read(client, world, route_url(route["id"])) == retired.json()
    retired_routes = await _read(client, world, "/api/v1/patrol-routes?retired=true&limit=100")
    assert {key: value for key, value in retired.json().items() if key != "checkpoints"} in retired_routes[
        "items"
    ]

    made = await client.post("/api/v1/patrol-plans", json=plan_body(world), headers=officer)
    assert made.status_code == 201, made.text
    assert made.json()["next_patrols"]  # made to the horizon at once
    assert await _read(client, world, f"/api/v1/patrol-plans/{made.json()['id']}") == made.json()

    under = await under_way(client, world)
    written = await write(client, world, under, entry(location=None, topic=None, kind="observation"))
    assert written.status_code == 201, written.text
    path = f"{PATROLS}/{under['id']}/logs/{written.json()['id']}"
    assert await _read(client, world, path) == written.json()

    sent = await send(client, world, under, scan(world), scan(world, code="no-such-code"))
    assert sent.status_code == 201, sent.text
    # Sent by the member, who is shown no codes.
    listed_checkins = await _read(client, world, f"{PATROLS}/{under['id']}/checkins", Role.VOLUNTEER)
    assert listed_checkins["items"] == sent.json()["items"]


async def test_a_log_page_carries_each_entrys_own_photos(client, world):
    patrol = await under_way(client, world)
    volunteer = world.headers(Role.VOLUNTEER)
    logs = [(await write(client, world, patrol, entry(text=f"第 {n} 条"))).json() for n in range(3)]
    photos: dict[str, list[str]] = {log["id"]: [] for log in logs}
    for log, count in zip(logs, (2, 0, 1), strict=True):
        for n in range(count):
            added = await client.post(
                f"{PATROLS}/{patrol['id']}/logs/{log['id']}/photos",
                files={"file": (f"{n}.png", png((200, 30, 30 + n)), "image/png")},
                headers=volunteer,
            )
            assert added.status_code == 201, added.text
            photos[log["id"]].append(added.json()["id"])

    first = await _read(client, world, f"{PATROLS}/{patrol['id']}/logs?limit=2")
    second = await _read(
        client, world, f"{PATROLS}/{patrol['id']}/logs?limit=2&cursor={first['next_cursor']}"
    )
    items = first["items"] + second["items"]
    assert [item["id"] for item in items] == [log["id"] for log in logs]
    assert {item["id"]: [photo["id"] for photo in item["photos"]] for item in items} == photos
    for item in items:
        assert await _read(client, world, f"{PATROLS}/{patrol['id']}/logs/{item['id']}") == item
    assert items[1] == logs[1]  # without photos, as written (located, with a topic)


async def test_a_patrol_out_of_reach_is_not_found_for_its_log_and_check_ins(client, world):
    patrol = await under_way(client, world)
    log = (await write(client, world, patrol, entry())).json()
    stranger = world.headers(Role.OFFICER, place="other")
    for path in ("", "/logs", f"/logs/{log['id']}", "/checkins"):
        response = await client.get(f"{PATROLS}/{patrol['id']}{path}", headers=stranger)
        assert (response.status_code, response.json()["code"]) == (404, "patrol_not_found"), path
    missing = await client.get(
        f"{PATROLS}/{patrol['id']}/logs/{patrol['id']}", headers=world.headers(Role.OFFICER)
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "patrol_log_not_found")


async def test_a_volunteer_out_of_the_patrols_reach_is_not_found_for_its_log_and_check_ins(
    client, world, session_factory
):
    """Another station's volunteer never reaches the patrol; its own member, once suspended, no longer does
    (a volunteer's reach rests on their being active)."""
    patrol = await under_way(client, world)
    log = (await write(client, world, patrol, entry())).json()
    paths = [f"{PATROLS}/{patrol['id']}{path}" for path in ("/logs", f"/logs/{log['id']}", "/checkins")]

    async def answers(headers: dict[str, str]) -> list[tuple[int, str | None]]:
        responses = [await client.get(path, headers=headers) for path in paths]
        return [(response.status_code, response.json().get("code")) for response in responses]

    member = world.headers(Role.VOLUNTEER)
    assert await answers(member) == [(200, None)] * 3
    not_found = [(404, "patrol_not_found")] * 3
    assert await answers(world.headers(Role.VOLUNTEER, place="other")) == not_found
    await suspend_volunteer(session_factory, world.own.volunteer.id)
    assert await answers(member) == not_found
