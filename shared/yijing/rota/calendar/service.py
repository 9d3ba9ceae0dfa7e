"""iCalendar feeds (RFC 5545) of captain weeks for calendar apps: a secret address per group or volunteer.

The address's token is the credential: shown once when the feed is created, kept only as its SHA-256, and
revocable. A feed answers while it is not revoked and while whoever created it could still create it, so an
account disabled, moved to another station or out of the group ends the feeds it made. Each captain week is
one event whose UID is the week's id and whose SEQUENCE is the week's (bumped at every change of captain), so
calendar apps update an event in place instead of adding another.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor, Principal
from yijing.audit import service as audit
from yijing.errors import NotFound
from yijing.groups import service as groups
from yijing.identity.auth import user_scope
from yijing.identity.models import User
from yijing.identity.tokens import digest
from yijing.ids import utcnow
from yijing.rota import repository
from yijing.rota.calendar.errors import CalendarFeedNotFound
from yijing.rota.calendar.schemas import CalendarFeedCreated, CalendarFeedRead
from yijing.rota.models import CalendarFeed, CaptainSource, CaptainWeek
from yijing.rota.service import volunteer_in_reach

# secrets.token_urlsafe(32): 256 random bits, always 43 characters of the URL-safe base64 alphabet.
TOKEN_BYTES = 32
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 (a pattern, not a secret)
FEED_PATH = "/api/v1/calendars/{token}.ics"
MEDIA_TYPE = "text/calendar; charset=utf-8"
# How far back a feed reaches; forward, it reaches as far as the rota is stored (the group's horizon).
HISTORY = timedelta(weeks=8)
PRODID = "-//yijing//Volunteer police captain rota//ZH-CN"
# How often calendar apps should fetch the feed again.
REFRESH_INTERVAL = "PT1H"
MAX_LINE_OCTETS = 75  # RFC 5545 §3.1, without the CRLF

SOURCE_LABELS = {
    CaptainSource.ROTATION: "轮值",
    CaptainSource.SWAP: "换班",
    CaptainSource.OVERRIDE: "民警指定",
    CaptainSource.FALLBACK: "无人可排，按轮值安排",
}


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def feed_url(token: str) -> str:
    return FEED_PATH.format(token=token)


def to_read(feed: CalendarFeed) -> CalendarFeedRead:
    return CalendarFeedRead.model_validate(feed)


# Who may make (and so revoke) a feed: whoever reaches its subject.


async def _require_subject(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID | None, volunteer_id: uuid.UUID | None
) -> uuid.UUID:
    """The subject's station; NotFound when the actor does not reach the group (staff of its station, or
    a member volunteer) or the volunteer (staff of their station, or the volunteer themself)."""
    if group_id is not None:
        return (await groups.get_group(session, actor, group_id)).station_id
    assert volunteer_id is not None
    return (await volunteer_in_reach(session, actor, volunteer_id)).station_id


async def _create(
    session: AsyncSession, actor: Actor, *, group_id: uuid.UUID | None, volunteer_id: uuid.UUID | None
) -> CalendarFeedCreated:
    station_id = await _require_subject(session, actor, group_id, volunteer_id)
    token = new_token()
    feed = CalendarFeed(
        station_id=station_id,
        group_id=group_id,
        volunteer_id=volunteer_id,
        token_hash=digest(token),
        created_by=actor.user_id,
    )
    session.add(feed)
    await session.flush()
    subject = {"group_id": str(group_id)} if group_id else {"volunteer_id": str(volunteer_id)}
    await audit.record(
        session, actor, "calendar_feed.create", target_type="calendar_feed", target_id=feed.id,
        station_id=station_id, changes=subject,
    )  # fmt: skip
    return CalendarFeedCreated(**to_read(feed).model_dump(), url=feed_url(token))


async def create_group_feed(session: AsyncSession, actor: Actor, group_id: uuid.UUID) -> CalendarFeedCreated:
    return await _create(session, actor, group_id=group_id, volunteer_id=None)


async def create_volunteer_feed(
    session: AsyncSession, actor: Actor, volunteer_id: uuid.UUID
) -> CalendarFeedCreated:
    return await _create(session, actor, group_id=None, volunteer_id=volunteer_id)


async def revoke(session: AsyncSession, actor: Actor, feed_id: uuid.UUID) -> CalendarFeed:
    """Anyone who may create a feed for its subject may revoke it (a leaked address can be stopped by
    whoever sees it leaked). Revoking a revoked feed changes nothing."""
    feed = await repository.lock_calendar_feed(session, actor.scope, feed_id)
    try:
        if feed is not None:
            await _require_subject(session, actor, feed.group_id, feed.volunteer_id)
    except NotFound:
        feed = None
    if feed is None:
        raise CalendarFeedNotFound(f"no calendar feed {feed_id}", zh=f"未找到日历订阅 {feed_id}")
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
        session.add(feed)
        await session.flush()
        await audit.record(
            session, actor, "calendar_feed.revoke", target_type="calendar_feed", target_id=feed.id,
            station_id=feed.station_id,
        )  # fmt: skip
    return feed


# Rendering


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # RFC 5545 TEXT admits no control character but HTAB


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newline escaped, other control
    characters dropped."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str, limit: int = MAX_LINE_OCTETS) -> str:
    """One content line split into physical lines of at most ``limit`` octets of UTF-8 (RFC 5545 §3.1),
    never inside a character; each continuation starts with a space, which counts towards its octets."""
    if len(line.encode()) <= limit:
        return line
    lines: list[str] = []
    current: list[str] = []
    size, room = 0, limit
    for char in line:
        width = len(char.encode())
        if size + width > room:
            lines.append("".join(current))
            current, size, room = [], 0, limit - 1
        current.append(char)
        size += width
    lines.append("".join(current))
    return "\r\n ".join(lines)


def utc_stamp(moment: datetime) -> str:
    """A DATE-TIME in UTC ("form #2"): 20261129T160000Z."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def serialise(lines: Iterable[str]) -> bytes:
    """Content lines, folded, each ended by CRLF, as UTF-8."""
    return "".join(fold(line) + "\r\n" for line in lines).encode()


@dataclass(frozen=True)
class FeedWeek:
    week: CaptainWeek
    captain: str
    group: str


def _event(item: FeedWeek) -> list[str]:
    week = item.week
    description = (
        f"{week.week_start:%Y-%m-%d} 起的一周\n来源：{SOURCE_LABELS[week.source]}（{week.source.value}）"
    )
    if week.reason:
        description += f"\n原因：{week.reason}"
    return [
        "BEGIN:VEVENT",
        f"UID:{week.id}@yijing",
        f"SEQUENCE:{week.sequence}",
        f"DTSTAMP:{utc_stamp(week.updated_at)}",
        f"LAST-MODIFIED:{utc_stamp(week.updated_at)}",
        f"DTSTART:{utc_stamp(week.starts_at)}",
        f"DTEND:{utc_stamp(week.ends_at)}",
        f"SUMMARY:{escape_text(f'义警队长：{item.captain}（{item.group}）')}",
        f"DESCRIPTION:{escape_text(description)}",
        "STATUS:CONFIRMED",
        "TRANSP:TRANSPARENT",  # a week as captain does not make the volunteer busy
        "END:VEVENT",
    ]


def calendar_lines(name: str, weeks: Sequence[FeedWeek]) -> list[str]:
    return [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH_INTERVAL}",
        f"X-PUBLISHED-TTL:{REFRESH_INTERVAL}",
        *(line for item in weeks for line in _event(item)),
        "END:VCALENDAR",
    ]


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str  # strong, quoted

    def matches(self, if_none_match: str | None) -> bool:
        """Whether an If-None-Match header names this version (weak comparison, RFC 9110 §13.1.2)."""
        if not if_none_match:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or self.etag in tags


async def _live_feed(session: AsyncSession, token: str) -> CalendarFeed:
    """The feed of a token, unless unknown, revoked, or its creator no longer reaches its subject."""
    feed = await repository.calendar_feed_by_token_hash(session, digest(token))
    if feed is not None and feed.revoked_at is None and await _creator_still_reaches(session, feed):
        return feed
    raise CalendarFeedNotFound(
        "no calendar feed at this address (revoked, or never issued)",
        zh="该地址没有日历订阅（已被吊销或从未签发）",
    )


async def _creator_still_reaches(session: AsyncSession, feed: CalendarFeed) -> bool:
    if feed.created_by is None:  # made by the system
        return True
    user = await session.get(User, feed.created_by)
    if user is None or not user.is_active:
        return False
    creator = Actor(Principal("user", user.id, user_scope(user), user.role, user.station_id))
    try:
        await _require_subject(session, creator, feed.group_id, feed.volunteer_id)
    except NotFound:
        return False
    return True


async def _calendar_name(session: AsyncSession, feed: CalendarFeed) -> str:
    if feed.group_id is not None:
        site_name, group_name = await repository.site_and_group_name(session, feed.group_id)
        return f"义警队长值班：{site_name} {group_name}"
    assert feed.volunteer_id is not None  # a feed has exactly one subject (constraint one_subject)
    name = (await repository.volunteer_names(session, [feed.volunteer_id])).get(feed.volunteer_id)
    return f"义警队长值班：{name}"


async def _weeks(session: AsyncSession, feed: CalendarFeed, since: datetime) -> list[FeedWeek]:
    rows = await repository.captain_weeks_since(
        session, group_id=feed.group_id, volunteer_id=feed.volunteer_id, since=since
    )
    return [FeedWeek(week, captain, group) for week, captain, group in rows]


async def render(session: AsyncSession, token: str, now: datetime | None = None) -> RenderedFeed:
    """The feed's calendar: captain weeks from eight weeks ago to the end of the stored rota."""
    feed = await _live_feed(session, token)
    weeks = await _weeks(session, feed, (now or utcnow()) - HISTORY)
    body = serialise(calendar_lines(await _calendar_name(session, feed), weeks))
    return RenderedFeed(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
