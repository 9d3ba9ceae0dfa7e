from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.personal import IdCardNumber, MobileNumber
from yijing.types import Address, CalendarDate, Instant, Name, Reason
from yijing.volunteers.models import Gender, Volunteer, VolunteerSource, VolunteerStatus

# Chinese labels, for import files, templates and people reading exports.
SOURCE_LABELS_ZH = {
    VolunteerSource.STALL_OPERATOR: "摊位经营者",
    VolunteerSource.SHOP_OWNER: "商铺店主",
    VolunteerSource.LANDLORD: "房东",
    VolunteerSource.AREA_LEADER: "片长",
    VolunteerSource.BUILDING_CAPTAIN: "楼栋长",
    VolunteerSource.COMMUNITY_CADRE: "村社区干部",
    VolunteerSource.SECURITY_GUARD: "企事业保安",
    VolunteerSource.RESIDENT: "居民",
    VolunteerSource.OTHER: "其他",
}
GENDER_LABELS_ZH = {Gender.MALE: "男", Gender.FEMALE: "女"}
STATUS_LABELS_ZH = {
    VolunteerStatus.APPLIED: "申请中",
    VolunteerStatus.ACTIVE: "在岗",
    VolunteerStatus.SUSPENDED: "暂停",
    VolunteerStatus.RETIRED: "退出",
}

BadgeNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Za-z-]{1,32}$"),
    Field(
        description="Armband (红袖标) number: letters, digits and hyphens (kept in capitals); unique in the "
        "station"
    ),
    AfterValidator(str.upper),
]
# No separators or white space inside a skill (written out: Python's \s and JSON Schema's differ).
Skill = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[^\x00 \t\n\r\f\v\u3000,，、;；]+$")
]
Skills = Annotated[
    list[Skill],
    Field(max_length=20, description="Skills and tags, e.g. 急救 (first aid), 调解 (mediation)"),
]

_VOLUNTEER_ID = "0193a6a4-5555-7c3d-8f2a-3b4c5d6e7f80"
_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_EXAMPLE: dict[str, Any] = {
    "name": "陈美华",
    "gender": "female",
    "site_id": _SITE_ID,
    "source": "stall_operator",
    "household_name": "A-017 鱼丸摊",
    "household_address": "滨河路夜市 A 区 17 号",
    "badge_number": "GZ-0017",
    "skills": ["急救", "调解"],
    "joined_on": "2023-07-15",
}


class VolunteerCreate(BaseModel):
    """The station is the site's station."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{**_EXAMPLE, "phone": "13812345678", "id_card_number": "11010519491231002X"}]
        },
    )

    name: Name
    gender: Gender
    phone: MobileNumber
    id_card_number: IdCardNumber
    site_id: uuid.UUID
    source: VolunteerSource
    household_name: Name | None = Field(default=None, description="The stall or household (name or number)")
    household_address: Address | None = None
    badge_number: BadgeNumber | None = None
    skills: Skills = Field(default_factory=list)
    joined_on: CalendarDate | None = Field(default=None, description="Defaults to today (station time)")
    status: Literal[VolunteerStatus.APPLIED, VolunteerStatus.ACTIVE] = Field(
        default=VolunteerStatus.ACTIVE, description="The status enrolled with: applied, or active at once"
    )
    user_id: uuid.UUID | None = Field(
        default=None, description="A volunteer account of the same station to link (it may then sign in)"
    )


class VolunteerUpdate(BaseModel):
    """Fields left out stay as they are; so do required fields sent as null. For household_name,
    household_address, badge_number and user_id, null clears the value (user_id: unlinks the account).
    The status changes only through its actions."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"site_id": _SITE_ID, "badge_number": "GZ-0102"}]}
    )

    name: Name | None = None
    gender: Gender | None = None
    phone: MobileNumber | None = None
    id_card_number: IdCardNumber | None = None
    site_id: uuid.UUID | None = None
    source: VolunteerSource | None = None
    household_name: Name | None = None
    household_address: Address | None = None
    badge_number: BadgeNumber | None = None
    skills: Skills | None = None
    joined_on: CalendarDate | None = None
    user_id: uuid.UUID | None = None


# What a volunteer may change in their own record; anything else is the station's to change.
SELF_EDITABLE = ("household_address", "skills")


class VolunteerSelfUpdate(BaseModel):
    """A volunteer's own edits: their household address and skills. Other fields are refused (422); the
    station's staff change those."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"skills": ["急救", "消防"]}]})

    household_address: Address | None = None
    skills: Skills | None = None


class StatusAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "连续两月未参加培训"}]}
    )

    reason: Reason = Field(description="Why: kept in the status history")


class VolunteerFilters(BaseModel):
    """The volunteers list's filters (all of them together)."""

    station_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    status: VolunteerStatus | None = None
    source: VolunteerSource | None = None
    group_id: Annotated[uuid.UUID | None, Field(description="Current members of this group")] = None
    q: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=50,
            description="Search: part of a name, an exact badge number, a whole mobile number, or a "
            "mobile number's last four digits",
        ),
    ] = None
    updated_after: Instant | None = None


_GENDERS, _SOURCES, _STATUSES = by_value(Gender), by_value(VolunteerSource), by_value(VolunteerStatus)


class VolunteerRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": _VOLUNTEER_ID,
                    "station_id": _STATION_ID,
                    "phone": "138****5678",
                    "id_card_number": "1101**********002X",
                    "personal_data": "masked",
                    "status": "active",
                    "user_id": None,
                    "version": 1,
                    "created_at": "2026-11-29T10:00:00+08:00",
                    "updated_at": "2026-11-29T10:00:00+08:00",
                }
            ]
        }
    )

    id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID
    name: str
    gender: Gender
    phone: str = Field(description="Masked unless personal_data is full")
    id_card_number: str = Field(description="Masked unless personal_data is full")
    personal_data: Literal["masked", "full"]
    source: VolunteerSource
    household_name: str | None
    household_address: str | None
    badge_number: str | None
    skills: list[str]
    joined_on: date
    status: VolunteerStatus
    user_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, volunteer: Volunteer | LeanRow, *, phone: str | None = None, id_card: str | None = None
    ) -> VolunteerRead:
        """Masked, unless the caller passes the opened values (and has audited the read). From a record or a
        lean row of its columns (:data:`yijing.volunteers.repository.SHOWN`), as stored: not validated again
        (a lean row's enumerations are the driver's strings)."""
        full = phone is not None
        return read_model(
            cls,
            id=volunteer.id, station_id=volunteer.station_id, site_id=volunteer.site_id, name=volunteer.name,
            gender=_GENDERS[volunteer.gender], phone=phone or volunteer.phone_masked,
            id_card_number=id_card or volunteer.id_card_masked, personal_data="full" if full else "masked",
            source=_SOURCES[volunteer.source], household_name=volunteer.household_name,
            household_address=volunteer.household_address, badge_number=volunteer.badge_number,
            skills=list(volunteer.skills), joined_on=volunteer.joined_on,
            status=_STATUSES[volunteer.status], user_id=volunteer.user_id, version=volunteer.version,
            created_at=volunteer.created_at, updated_at=volunteer.updated_at,
        )  # fmt: skip


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a6a4-6666-7c3d-8f2a-3b4c5d6e7f80",
                    "from_status": "active",
                    "to_status": "suspended",
                    "action": "suspend",
                    "reason": "连续两月未参加培训",
                    "actor_id": "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80",
                    "occurred_at": "2026-11-29T10:00:00+08:00",
                }
            ]
        },
    )

    id: uuid.UUID
    from_status: VolunteerStatus | None = Field(description="Null on the enrolment entry")
    to_status: VolunteerStatus
    action: str = Field(
        description="enrol, import, or the action taken (activate, suspend, reinstate, retire)"
    )
    reason: str | None
    actor_id: uuid.UUID | None = Field(description="The user who acted; null for the system")
    occurred_at: datetime


class VolunteerSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "station_id": _STATION_ID,
                    "site_id": None,
                    "total": 718,
                    "by_status": {"applied": 12, "active": 690, "suspended": 6, "retired": 10},
                    "by_source": {
                        "stall_operator": 240,
                        "shop_owner": 150,
                        "landlord": 93,
                        "area_leader": 30,
                        "building_captain": 42,
                        "community_cadre": 25,
                        "security_guard": 100,
                        "resident": 21,
                        "other": 7,
                    },
                }
            ]
        }
    )

    station_id: uuid.UUID | None = Field(
        description="The station counted; null: every station the caller reaches"
    )
    site_id: uuid.UUID | None
    total: int
    by_status: dict[VolunteerStatus, int] = Field(description="Every status, zeros included")
    by_source: dict[VolunteerSource, int] = Field(description="Every source, zeros included")
