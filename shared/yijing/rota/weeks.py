"""Captain weeks on the wall clock: a week runs from one local handoff (weekday and time in the station's
time zone) to the next. Each boundary is computed from the local date, never as the previous one plus
604,800 seconds, so a week across a daylight-saving change is 167 or 169 hours long and every handoff keeps
its local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Handoff:
    weekday: int  # 0 Monday … 6 Sunday
    at: time  # local time
    zone: ZoneInfo

    def instant(self, day: date) -> datetime:
        """The handoff on local ``day`` (a time skipped by a DST change falls an hour later), in UTC."""
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def week_start(self, at: datetime) -> date:
        """The local date of the handoff that starts the week containing ``at``."""
        local = at.astimezone(self.zone).date()
        day = local - timedelta(days=(local.weekday() - self.weekday) % 7)
        return day if self.instant(day) <= at else day - timedelta(days=7)

    def week(self, week_start: date) -> Week:
        return Week(week_start, self.instant(week_start), self.instant(week_start + timedelta(days=7)))


@dataclass(frozen=True)
class Week:
    start: date
    starts_at: datetime
    ends_at: datetime

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=6)
