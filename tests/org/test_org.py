"""Stations and sites."""

from yijing.access import Role
from yijing.org.schemas import SiteRead, StationRead


async def test_an_admin_creates_a_station_with_the_default_time_zone(client, world):
    response = await client.post(
        "/api/v1/stations",
        json={"name": "甘蔗派出所", "division_code": "350121"},
        headers=world.headers(Role.ADMIN),
    )
    assert response.status_code == 201, response.text
    assert response.json()["timezone"] == "Asia/Shanghai"
    assert response.headers["etag"] == '"1"'


async def test_station_names_are_unique(client, world):
    body = {"name": world.own.station.name, "division_code": "350121"}
    response = await client.post("/api/v1/stations", json=body, headers=world.headers(Role.ADMIN))
    assert response.status_code == 409
    assert response.json()["code"] == "station_name_taken"


async def test_a_station_with_sites_cannot_be_deleted(client, world):
    response = await client.delete(
        f"/api/v1/stations/{world.own.station.id}", headers=world.headers(Role.ADMIN)
    )
    assert response.status_code == 409
    assert response.json()["code"] == "station_in_use"


async def test_an_unknown_time_zone_is_422(client, world):
    body = {"name": "x", "division_code": "350121", "timezone": "Mars/Olympus"}
    response = await client.post("/api/v1/stations", json=body, headers=world.headers(Role.ADMIN))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.timezone"


async def test_a_leader_manages_sites_of_their_station_only(client, world):
    leader = world.headers(Role.LEADER)
    body = {"station_id": str(world.own.station.id), "name": "万家广场", "kind": "plaza",
            "location": {"latitude": 26.15, "longitude": 119.14}}  # fmt: skip
    created = await client.post("/api/v1/sites", json=body, headers=leader)
    assert created.status_code == 201, created.text
    assert created.json()["location"] == {"latitude": 26.15, "longitude": 119.14}
    elsewhere = {**body, "station_id": str(world.other.station.id)}
    assert (await client.post("/api/v1/sites", json=elsewhere, headers=leader)).status_code == 404
    duplicate = await client.post("/api/v1/sites", json=body, headers=leader)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "site_name_taken"


async def test_sites_are_filtered_and_scoped(client, world):
    sites = (await client.get("/api/v1/sites", headers=world.headers(Role.VOLUNTEER))).json()["items"]
    assert [site["id"] for site in sites] == [str(world.own.site.id)]
    by_kind = (
        await client.get("/api/v1/sites", params={"kind": "plaza"}, headers=world.headers(Role.ADMIN))
    ).json()
    assert by_kind["items"] == []


async def test_a_site_update_with_a_stale_version_is_412(client, world):
    admin = world.headers(Role.ADMIN)
    url = f"/api/v1/sites/{world.own.site.id}"
    assert (
        await client.patch(url, json={"kind": "plaza"}, headers={**admin, "If-Match": '"1"'})
    ).status_code == 200
    stale = await client.patch(url, json={"kind": "community"}, headers={**admin, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await client.get(url, headers=admin)).json()["kind"] == "plaza"


async def test_a_half_given_location_is_422(client, world):
    body = {"station_id": str(world.own.station.id), "name": "x", "location": {"latitude": 26.1}}
    response = await client.post("/api/v1/sites", json=body, headers=world.headers(Role.ADMIN))
    assert response.status_code == 422


async def test_deleting_a_site_detaches_its_officers_and_ends_its_team(client, world):
    admin = world.headers(Role.ADMIN)
    officer = world.user(Role.OFFICER)
    site = await client.post(
        "/api/v1/sites", json={"station_id": str(world.own.station.id), "name": "万家广场"}, headers=admin
    )
    site_id = site.json()["id"]
    attach = await client.patch(f"/api/v1/users/{officer.id}", json={"site_ids": [site_id]}, headers=admin)
    assert attach.json()["site_ids"] == [site_id]
    post = {"user_id": str(officer.id), "post": "officer"}
    assert (
        await client.post(f"/api/v1/sites/{site_id}/team/assignments", json=post, headers=admin)
    ).status_code == 201
    assert (await client.delete(f"/api/v1/sites/{site_id}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/users/{officer.id}", headers=admin)).json()["site_ids"] == []
    assert (await client.get(f"/api/v1/sites/{site_id}/team", headers=admin)).status_code == 404
    events = await client.get("/api/v1/audit-events", params={"action": "site.delete"}, headers=admin)
    assert events.json()["items"][0]["changes"] == {"detached_user_ids": [str(officer.id)]}


async def test_a_sites_location_is_set_and_cleared(client, world):
    admin = world.headers(Role.ADMIN)
    url = f"/api/v1/sites/{world.own.site.id}"
    point = {"latitude": 26.1, "longitude": 119.1}
    assert (await client.patch(url, json={"location": point}, headers=admin)).json()["location"] == point
    assert (await client.patch(url, json={"name": "夜市"}, headers=admin)).json()["location"] == point
    cleared = await client.patch(url, json={"location": None}, headers=admin)
    assert cleared.json()["location"] is None


async def test_a_station_and_a_site_read_the_same_in_their_list_and_their_get(client, world):
    """Read lean: the same fields, in the schema's order, whichever way they are read."""
    admin = world.headers(Role.ADMIN)
    point = {"latitude": 26.1526, "longitude": 119.1417}
    site_url = f"/api/v1/sites/{world.own.site.id}"
    assert (await client.patch(site_url, json={"location": point}, headers=admin)).status_code == 200
    site = (await client.get(site_url, headers=admin)).json()
    assert site["location"] == point
    assert list(site) == list(SiteRead.model_fields)
    listed = (await client.get("/api/v1/sites", headers=admin)).json()["items"]
    assert [item for item in listed if item["id"] == site["id"]] == [site]
    station = (await client.get(f"/api/v1/stations/{world.own.station.id}", headers=admin)).json()
    assert list(station) == list(StationRead.model_fields)
    stations = (await client.get("/api/v1/stations", headers=admin)).json()["items"]
    assert [item for item in stations if item["id"] == station["id"]] == [station]
