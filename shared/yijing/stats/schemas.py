from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DataStatus(StrEnum):
    FINAL = "final"  # over, and every day computed
    PROVISIONAL = "provisional"  # not over yet, or some days not computed yet
    MISSING = "missing"  # no day computed: there is no figure (never read it as zero)


class PeriodRead(BaseModel):
    label: str = Field(description="2023-10, 2023-Q4, 2023, or first/last day of a range")
    kind: str = Field(description="month, quarter, year or range")
    first_day: date
    last_day: date
    starts_at: datetime = Field(description="The first instant, with the station's offset")
    ends_at: datetime = Field(description="The instant after the last, with the station's offset")
    data_status: DataStatus
    days_computed: int = Field(description="Station-days whose figures are computed")
    days: int = Field(description="Station-days in the period")


class Change(BaseModel):
    """The current figure against a base period's."""

    base: int | None = Field(description="The base period's figure; null when its data is missing")
    change: int | None = Field(description="current − base")
    percent: float | None = Field(description="(current − base) / base × 100, one decimal; null if base is 0")


class IncidentRow(BaseModel):
    key: str = Field(description="The class or tag code, or the site id (`none`: no site given)")
    label_zh: str
    label_en: str
    current: int | None = Field(description="Null when the period's data is missing")
    yoy: Change | None = Field(default=None, description="Year on year (同比)")
    mom: Change | None = Field(default=None, description="Against the period just before (环比)")
    comparable: bool = Field(
        default=True,
        description="False when the code's meaning changed within the compared periods (see `note`)",
    )
    note: str | None = None


class IncidentStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "station_id": "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80",
                    "site_id": None,
                    "by": "class",
                    "period": {
                        "label": "2023-10",
                        "kind": "month",
                        "first_day": "2023-10-01",
                        "last_day": "2023-10-31",
                        "starts_at": "2023-10-01T00:00:00+08:00",
                        "ends_at": "2023-11-01T00:00:00+08:00",
                        "data_status": "final",
                        "days_computed": 31,
                        "days": 31,
                    },
                    "yoy_period": {
                        "label": "2022-10",
                        "kind": "month",
                        "first_day": "2022-10-01",
                        "last_day": "2022-10-31",
                        "starts_at": "2022-10-01T00:00:00+08:00",
                        "ends_at": "2022-11-01T00:00:00+08:00",
                        "data_status": "final",
                        "days_computed": 31,
                        "days": 31,
                    },
                    "mom_period": {
                        "label": "2023-09",
                        "kind": "month",
                        "first_day": "2023-09-01",
                        "last_day": "2023-09-30",
                        "starts_at": "2023-09-01T00:00:00+08:00",
                        "ends_at": "2023-10-01T00:00:00+08:00",
                        "data_status": "final",
                        "days_computed": 30,
                        "days": 30,
                    },
                    "rows": [
                        {
                            "key": "illegal_crime",
                            "label_zh": "违法犯罪",
                            "label_en": "Illegal acts and crimes",
                            "current": 47,
                            "yoy": {"base": 165, "change": -118, "percent": -71.5},
                            "mom": {"base": 92, "change": -45, "percent": -48.9},
                            "comparable": True,
                            "note": None,
                        },
                        {
                            "key": "traffic",
                            "label_zh": "交通",
                            "label_en": "Traffic",
                            "current": 30,
                            "yoy": {"base": 31, "change": -1, "percent": -3.2},
                            "mom": {"base": 28, "change": 2, "percent": 7.1},
                            "comparable": True,
                            "note": None,
                        },
                    ],
                    "total": {
                        "key": "total",
                        "label_zh": "合计",
                        "label_en": "Total",
                        "current": 77,
                        "yoy": {"base": 196, "change": -119, "percent": -60.7},
                        "mom": {"base": 120, "change": -43, "percent": -35.8},
                        "comparable": True,
                        "note": None,
                    },
                    "computed_at": "2023-11-01T00:20:00+08:00",
                }
            ]
        }
    )

    station_id: uuid.UUID | None = Field(description="Null: every station the caller reaches (county totals)")
    site_id: uuid.UUID | None
    by: str
    period: PeriodRead
    yoy_period: PeriodRead | None = None
    mom_period: PeriodRead | None = None
    total: IncidentRow
    rows: list[IncidentRow]
    computed_at: datetime | None = Field(description="When the newest figure used was computed")

    def table(self) -> list[dict[str, Any]]:
        """One line per row and the total, for CSV and XLSX: the same figures as the JSON."""
        lines = []
        for row in [*self.rows, self.total]:
            line: dict[str, Any] = {
                "period": self.period.label,
                "data_status": self.period.data_status.value,
                "by": self.by,
                "key": row.key,
                "label_zh": row.label_zh,
                "label_en": row.label_en,
                "current": row.current,
            }
            for name, change, span in (("yoy", row.yoy, self.yoy_period), ("mom", row.mom, self.mom_period)):
                if span is not None:
                    line |= {
                        f"{name}_period": span.label,
                        f"{name}_base": change.base if change else None,
                        f"{name}_change": change.change if change else None,
                        f"{name}_percent": change.percent if change else None,
                    }
            lines.append(line | {"comparable": row.comparable, "note": row.note})
        return lines


class OverviewFigure(BaseModel):
    metric: str
    label_zh: str
    label_en: str
    value: int | None = Field(description="In the period (a snapshot metric: on its last computed day)")
    running_total: int | None = Field(description="Since records began (a snapshot metric: the latest)")
    yoy: Change | None = None
    mom: Change | None = None
    data_status: DataStatus


class Overview(BaseModel):
    station_id: uuid.UUID | None
    period: PeriodRead
    figures: list[OverviewFigure]

    def table(self) -> list[dict[str, Any]]:
        return [
            {
                "period": self.period.label,
                "metric": figure.metric,
                "label_zh": figure.label_zh,
                "label_en": figure.label_en,
                "value": figure.value,
                "data_status": figure.data_status.value,
                "running_total": figure.running_total,
                "yoy_base": figure.yoy.base if figure.yoy else None,
                "yoy_percent": figure.yoy.percent if figure.yoy else None,
                "mom_base": figure.mom.base if figure.mom else None,
                "mom_percent": figure.mom.percent if figure.mom else None,
            }
            for figure in self.figures
        ]


class SeriesPoint(BaseModel):
    first_day: date
    last_day: date
    value: int | None = Field(description="Null when no day of the bucket is computed")
    data_status: DataStatus


class Series(BaseModel):
    station_id: uuid.UUID | None
    site_id: uuid.UUID | None
    metric: str
    dimension: str | None
    granularity: str
    points: list[SeriesPoint]

    def table(self) -> list[dict[str, Any]]:
        return [
            {"metric": self.metric, "dimension": self.dimension, **point.model_dump(mode="json")}
            for point in self.points
        ]


class MonthStatus(BaseModel):
    month: str
    data_status: DataStatus


class SourceMeta(BaseModel):
    source: str
    metrics: list[str]
    first_day: date | None
    last_day: date | None
    last_computed_at: datetime | None
    months: list[MonthStatus] = Field(description="The last 24 months, oldest first")


class Meta(BaseModel):
    station_id: uuid.UUID | None
    sources: list[SourceMeta]

    def table(self) -> list[dict[str, Any]]:
        return [
            {
                "source": source.source,
                "month": month.month,
                "data_status": month.data_status.value,
                "last_computed_at": source.last_computed_at,
            }
            for source in self.sources
            for month in source.months
        ]
