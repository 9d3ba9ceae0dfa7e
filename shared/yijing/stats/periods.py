"""Reporting periods and the periods they are compared with. Pure calendar arithmetic on station-local
dates: a period is the half-open range [start, end) of days; the station's time zone turns it into instants.

- A month ``2023-10``, a quarter ``2023-Q4``, a year ``2023``, or an explicit range ``from``/``to``
  (inclusive dates).
- Year-on-year (同比): the same range one year earlier (29 February becomes the 28th).
- Month-on-month (环比): the period of the same kind just before (the previous month or quarter; for a
  range, the same number of days just before it; for a year, the previous year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PERIOD_PATTERN = r"^[1-9][0-9]{3}(-(0[1-9]|1[0-2])|-Q[1-4])?$"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date  # the first day
    end: date  # the day after the last

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        match self.kind:
            case PeriodKind.MONTH:
                return f"{self.start:%Y-%m}"
            case PeriodKind.QUARTER:
                return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
            case PeriodKind.YEAR:
                return f"{self.start.year}"
        return f"{self.start}/{self.last}"

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period's first and end instants in the station's time zone."""
        return datetime.combine(self.start, time(), zone), datetime.combine(self.end, time(), zone)

    def year_earlier(self) -> Period:
        return Period(self.kind, _years_back(self.start, 1), _years_back(self.end, 1))

    def before(self) -> Period:
        """The period of the same kind just before this one."""
        match self.kind:
            case PeriodKind.MONTH:
                return month(_add_months(self.start, -1))
            case PeriodKind.QUARTER:
                start = _add_months(self.start, -3)
                return Period(PeriodKind.QUARTER, start, self.start)
            case PeriodKind.YEAR:
                return Period(PeriodKind.YEAR, date(self.start.year - 1, 1, 1), self.start)
        return Period(PeriodKind.RANGE, self.start - timedelta(days=self.days), self.start)


def _add_months(day: date, months: int) -> date:
    """The first of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _years_back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def month(first: date) -> Period:
    return Period(PeriodKind.MONTH, first.replace(day=1), _add_months(first, 1))


def parse(text: str) -> Period:
    """A period from its name (``2023-10``, ``2023-Q4``, ``2023``); ValueError when it is not one."""
    if not re.fullmatch(PERIOD_PATTERN, text):
        raise ValueError(f"not a period: {text!r} (expected e.g. 2023-10, 2023-Q4 or 2023)")
    year = int(text[:4])
    if len(text) == 4:
        return Period(PeriodKind.YEAR, date(year, 1, 1), date(year + 1, 1, 1))
    if text[5] == "Q":
        start = date(year, 3 * (int(text[6]) - 1) + 1, 1)
        return Period(PeriodKind.QUARTER, start, _add_months(start, 3))
    return month(date(year, int(text[5:7]), 1))


def date_range(first: date, last: date) -> Period:
    if last < first:
        raise ValueError("the range ends before it starts")
    return Period(PeriodKind.RANGE, first, last + timedelta(days=1))
