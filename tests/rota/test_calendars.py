"""iCalendar feeds of captain weeks: secret addresses made by staff or volunteers, read anonymously by
calendar apps, stable UIDs with growing SEQUENCEs, RFC 5545 text (CRLF, folding, escaping), revocation."""

import itertools
import re
import secrets
from datetime import UTC, datetime

import pytest

from tests.world import new_volunteer
from yijing.access import Role
from yijing.db import session_scope
from yijing.rota.calendar.service import escape_text, fold

_serials = itertools.count(6000)
URL = re.compile(r"^/api/v1/calendars/[A-Za-z0-9_-]{43}\.ics$")


def group_feeds(world, place: str = "own") -> str:
    return f"/api/v1/groups/{getattr(world, place).group.id}/calendar-feeds"


def volunteer_feeds(volunteer_id) -> str:
    return f"/api/v1/volunteers/{volunteer_id}/calendar-feeds"


async def create(client, world, url: str, role: Role) -> dict:
    response = await client.post(url, headers=world.headers(role))
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    feed = response.json()
    assert URL.match(feed["url"]), feed["url"]
    assert "token_hash" not in feed
    return feed


def physical_lines(body: bytes) -> list[bytes]:
    """The body's lines, checking they all end in CRLF (no bare CR or LF) and fit in 75 octets."""
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    for line in lines:
        assert b"\r" not in line
        assert b"\n" not in line
        assert len(line) <= 75, line
        line.decode()  # folding never splits a UTF-8 character
    return lines


def unfold(body: bytes) -> list[str]:
    logical: list[str] = []
    for line in physical_lines(body):
        text = line.decode()
        if text.startswith(" "):
            logical[-1] += text[1:]
        else:
            logical.append(text)
    return logical


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse(body: bytes) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(calendar properties, events): each property's raw (escaped) value, keyed by name."""
    calendar: dict[str, str] = {}
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    lines = unfold(body)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    for line in lines[1:-1]:
        name, _, value = line.partition(":")
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            current[name] = value
        else:
            calendar[name] = value
    assert current is None
    return calendar, events


async def fetch(client, url: str, **headers: str):
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["etag"]
    assert "private" in response.headers["cache-control"]
    return response


def utc(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


async def rota(client, world) -> list[dict]:
    response = await client.get(
        f"/api/v1/groups/{world.own.group.id}/rota", headers=world.headers(Role.OFFICER)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def add_member(client, world, session_factory, settings):
    """A new volunteer of the own site, joined to the own group through the API."""
    async with session_scope(session_factory) as session:
        volunteer = new_volunteer(settings, world.own.site, next(_serials), name="林秀英")
        session.add(volunteer)
        await session.flush()
    response = await client.post(
        f"/api/v1/groups/{world.own.group.id}/members",
        json={"volunteer_id": str(volunteer.id)},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 201, response.text
    return volunteer


@pytest.mark.parametrize("role", [Role.OFFICER, Role.ASSISTANT, Role.VOLUNTEER])
async def test_staff_and_a_member_subscribe_to_the_group(client, world, role):
    feed = await create(client, world, group_feeds(world), role)
    assert feed["group_id"] == str(world.own.group.id)
    assert feed["volunteer_id"] is None
    assert feed["station_id"] == str(world.own.station.id)
    assert feed["created_by"] == str(world.user(role).id)
    assert feed["revoked_at"] is None

    response = await fetch(client, feed["url"])  # no credentials: the token is the credential
    calendar, events = parse(response.content)
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    assert "第1组" in unescape(calendar["X-WR-CALNAME"])
    weeks = await rota(client, world)
    assert weeks
    assert [event["UID"] for event in events] == [f"{week['id']}@yijing" for week in weeks]
    for event, week in zip(events, weeks, strict=True):
        assert event["SEQUENCE"] == str(week["sequence"])
        assert event["DTSTART"].endswith("Z")
        assert event["DTEND"].endswith("Z")
        assert utc(event["DTSTART"]) == datetime.fromisoformat(week["starts_at"])
        assert utc(event["DTEND"]) == datetime.fromisoformat(week["ends_at"])
        assert event["DTSTAMP"].endswith("Z")
        assert unescape(event["SUMMARY"]) == f"义警队长：{world.own.volunteer.name}（第1组）"
        assert "来源：轮值（rotation）" in unescape(event["DESCRIPTION"])


async def test_a_volunteer_feed_lists_their_own_weeks(client, world, session_factory, settings):
    second = await add_member(client, world, session_factory, settings)
    staff_feed = await create(client, world, volunteer_feeds(second.id), Role.OFFICER)
    assert staff_feed["volunteer_id"] == str(second.id)
    assert staff_feed["group_id"] is None
    own_feed = await create(client, world, volunteer_feeds(world.own.volunteer.id), Role.VOLUNTEER)

    weeks = await rota(client, world)
    for feed, volunteer in ((staff_feed, second), (own_feed, world.own.volunteer)):
        calendar, events = parse((await fetch(client, feed["url"])).content)
        assert volunteer.name in unescape(calendar["X-WR-CALNAME"])
        theirs = [f"{week['id']}@yijing" for week in weeks if week["volunteer_id"] == str(volunteer.id)]
        assert theirs
        assert [event["UID"] for event in events] == theirs
        assert {unescape(event["SUMMARY"]) for event in events} == {f"义警队长：{volunteer.name}（第1组）"}


async def test_a_volunteer_cannot_subscribe_to_someone_else(client, world, session_factory, settings):
    second = await add_member(client, world, session_factory, settings)
    headers = world.headers(Role.VOLUNTEER)
    for url in (
        volunteer_feeds(second.id),  # a fellow member
        volunteer_feeds(world.other.volunteer.id),  # another station's volunteer
        group_feeds(world, "other"),  # another station's group
    ):
        response = await client.post(url, headers=headers)
        assert response.status_code == 404, response.text


async def test_another_stations_group_or_volunteer_is_404(client, world):
    for role in (Role.ASSISTANT, Role.OFFICER, Role.LEADER):
        for url in (group_feeds(world, "other"), volunteer_feeds(world.other.volunteer.id)):
            response = await client.post(url, headers=world.headers(role))
            assert response.status_code == 404, (role, url, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    # County admins reach every station.
    await create(client, world, group_feeds(world, "other"), Role.ADMIN)


async def test_the_uid_stays_and_the_sequence_grows_when_the_captain_changes(
    client, world, session_factory, settings
):
    second = await add_member(client, world, session_factory, settings)
    feed = await create(client, world, group_feeds(world), Role.OFFICER)
    first = await fetch(client, feed["url"])
    again = await fetch(client, feed["url"])
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    _, before = parse(first.content)

    # An unchanged feed answers 304, without a body.
    unchanged = await client.get(feed["url"], headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == first.headers["etag"]

    week = next(week for week in await rota(client, world) if not week["started"])
    captain = str(second.id) if week["volunteer_id"] != str(second.id) else str(world.own.volunteer.id)
    reason = "夜市活动周, 需熟手; 路径 C:\\值班\n第二行：" + "请提前到岗并检查消防通道与摊位电线，" * 3
    response = await client.post(
        f"/api/v1/groups/{world.own.group.id}/weeks/{week['week_start']}/override",
        json={"volunteer_id": captain, "reason": reason},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200, response.text
    assert response.json()["sequence"] == week["sequence"] + 1

    changed = await client.get(feed["url"], headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]
    _, after = parse(changed.content)
    assert [event["UID"] for event in after] == [event["UID"] for event in before]
    uid = f"{week['id']}@yijing"
    [old] = [event for event in before if event["UID"] == uid]
    [new] = [event for event in after if event["UID"] == uid]
    assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    name = second.name if captain == str(second.id) else world.own.volunteer.name
    assert unescape(new["SUMMARY"]) == f"义警队长：{name}（第1组）"
    # The reason is escaped (comma, semicolon, backslash, newline) and comes back intact.
    assert "夜市活动周\\, 需熟手\\; 路径 C:\\\\值班\\n第二行" in new["DESCRIPTION"]
    description = unescape(new["DESCRIPTION"])
    assert "来源：民警指定（override）" in description
    assert description.endswith(f"原因：{reason}")
    # The long description was folded, and the other weeks did not change.
    assert any(line.startswith(b" ") for line in physical_lines(changed.content))
    assert [event for event in after if event["UID"] != uid] == [
        event for event in before if event["UID"] != uid
    ]


async def test_a_revoked_feed_answers_404_and_revoking_is_idempotent(client, world):
    feed = await create(client, world, group_feeds(world), Role.VOLUNTEER)
    await fetch(client, feed["url"])
    revoke = f"/api/v1/calendar-feeds/{feed['id']}/revoke"
    # Another station's staff do not reach it.
    response = await client.post(revoke, headers=world.headers(Role.OFFICER, "other"))
    assert response.status_code == 404, response.text
    await fetch(client, feed["url"])

    response = await client.post(revoke, headers=world.headers(Role.OFFICER))
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["id"] == feed["id"]
    assert revoked["revoked_at"] is not None
    response = await client.post(revoke, headers=world.headers(Role.VOLUNTEER))
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"] == revoked["revoked_at"]

    response = await client.get(feed["url"])
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    # Other feeds of the group still work.
    await fetch(client, (await create(client, world, group_feeds(world), Role.OFFICER))["url"])


async def test_unknown_tokens_are_404_and_malformed_ones_422_never_401(client):
    unknown = f"/api/v1/calendars/{secrets.token_urlsafe(32)}.ics"
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"X-API-Key": "yj_nothing_here"}):
        response = await client.get(unknown, headers=headers)
        assert response.status_code == 404, response.text
    for token in ("short", "x" * 44, "a" * 42 + "."):
        response = await client.get(f"/api/v1/calendars/{token}.ics")
        assert response.status_code == 422, response.text


async def test_a_feed_ends_when_its_creator_no_longer_reaches_the_group(client, world):
    group_feed = await create(client, world, group_feeds(world), Role.VOLUNTEER)
    own_feed = await create(client, world, volunteer_feeds(world.own.volunteer.id), Role.VOLUNTEER)
    staff_feed = await create(client, world, group_feeds(world), Role.OFFICER)
    response = await client.post(
        f"/api/v1/groups/{world.own.group.id}/members/{world.own.volunteer.id}/leave",
        json={"reason": "摊位转让"},
        headers=world.headers(Role.OFFICER),
    )
    assert response.status_code == 200, response.text
    assert (await client.get(group_feed["url"])).status_code == 404
    await fetch(client, own_feed["url"])  # still their own record
    await fetch(client, staff_feed["url"])


def test_folding_splits_at_75_octets_between_characters():
    line = "DESCRIPTION:" + "值班" * 60 + "abc"
    folded = fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 1
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert parts[0] + "".join(part[1:] for part in parts[1:]) == line
    assert fold("SUMMARY:short") == "SUMMARY:short"
    ascii_line = "X" * 75
    assert fold(ascii_line) == ascii_line
    assert fold(ascii_line + "Y") == ascii_line + "\r\n Y"


def test_text_values_are_escaped():
    assert escape_text("a,b;c\\d\ne\r\nf\rg") == "a\\,b\\;c\\\\d\\ne\\nf\\ng"
    assert escape_text("tab\tbell\x07") == "tab\tbell"
