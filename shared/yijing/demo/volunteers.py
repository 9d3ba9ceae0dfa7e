"""The article's 718 volunteers: stall keepers, shop owners, guards, landlords and cadres of each site."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from yijing.demo.context import TIMEZONE, DemoContext, opening
from yijing.demo.org import SITES, VOLUNTEER
from yijing.ids import new_id
from yijing.personal import id_card_check_code, protector_for
from yijing.volunteers import repository as volunteer_repository
from yijing.volunteers.models import Gender, VolunteerSource, VolunteerStatus
from yijing.volunteers.schemas import VolunteerCreate
from yijing.volunteers.service import enrolment_row, volunteer_row

_SURNAMES = "林陈黄郑王张刘吴李翁魏杨何周许游叶江高潘"
_GIVEN = (
    "秀英", "建华", "美玲", "国强", "丽娟", "志明", "海燕", "金水", "春花", "德福",
    "玉兰", "文斌", "淑芬", "永福", "桂香", "明辉", "雪梅", "长青", "佩琳", "少华",
)  # fmt: skip
_SKILLS = ("急救", "消防", "调解", "普法宣传", "驾驶", "外语")


async def load(demo: DemoContext) -> int:
    """The volunteers, and the record of the stall keeper who signs in as the demo volunteer (linked to the
    account once the rota history is stored: the history's handoff notices are not news to anyone)."""
    protector = protector_for(demo.settings.personal_data_key)
    rng = demo.rng
    records: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    serial = 0
    for index, (spec, site) in enumerate(zip(SITES, demo.sites, strict=True)):
        opened = opening(index).date()
        sources = list(spec.sources)
        weights = list(spec.sources.values())
        for number in range(spec.volunteers):
            name, gender, phone, id_card = _person(rng, serial)
            first = serial == 0  # the night market's first stall keeper
            fate = None if first else _fate(rng)
            data = VolunteerCreate(
                name=VOLUNTEER.name if first else name,
                gender=Gender.MALE if first else gender,
                phone=phone,
                id_card_number=id_card,
                site_id=site.id,
                source=rng.choices(sources, weights)[0] if not first else VolunteerSource.STALL_OPERATOR,
                household_name=spec.household(rng, number),
                badge_number=f"GZ-{serial + 1:04d}",
                skills=rng.sample(_SKILLS, rng.randint(0, 2)),
                joined_on=opened + timedelta(days=rng.randint(0, 100)),
                user_id=None,
                status=VolunteerStatus.APPLIED if fate is VolunteerStatus.APPLIED else VolunteerStatus.ACTIVE,
            )
            row = volunteer_row(data, site.station_id, opened, protector)
            row["created_at"] = row["updated_at"] = datetime.combine(
                row["joined_on"], datetime.min.time(), TIMEZONE
            )
            records.append(row)
            history.append(enrolment_row(row, "enrol", None))
            if fate is not None and fate in _LEAVING:
                history.append(_leave(row, fate))
            serial += 1
    await volunteer_repository.insert_new(demo.session, records)
    await volunteer_repository.insert_status_changes(demo.session, history)
    demo.keeper_id = records[0]["id"]
    return len(records)


def _person(rng: random.Random, serial: int) -> tuple[str, Gender, str, str]:
    """An invented name, gender, mobile number and valid ID-card number (Minhou County)."""
    gender = rng.choice((Gender.FEMALE, Gender.MALE))
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    born = date(1958, 1, 1) + timedelta(days=rng.randint(0, 42 * 365))
    # The sequence's last digit is odd for men, even for women (GB 11643); the serial keeps it unique.
    sequence = serial * 2 + (1 if gender is Gender.MALE else 0)
    first17 = f"350121{born:%Y%m%d}{sequence % 1000:03d}"
    return name, gender, f"138{serial:08d}", first17 + id_card_check_code(first17)


def _fate(rng: random.Random) -> VolunteerStatus | None:
    """A few volunteers applied only recently, were suspended, or retired: the lifecycle in the data."""
    roll = rng.random()
    if roll < 0.02:
        return VolunteerStatus.APPLIED
    if roll < 0.04:
        return VolunteerStatus.SUSPENDED
    if roll < 0.05:
        return VolunteerStatus.RETIRED
    return None


# Status: (action, reason, days after enrolment).
_LEAVING = {
    VolunteerStatus.SUSPENDED: ("suspend", "连续两月未参加培训", 60),
    VolunteerStatus.RETIRED: ("retire", "摊位转让，退出义警", 75),
}


def _leave(volunteer: dict[str, Any], to_status: VolunteerStatus) -> dict[str, Any]:
    """Move an enrolled volunteer (column values) on to ``to_status``: the history row for it."""
    action, reason, days = _LEAVING[to_status]
    occurred_at = volunteer["created_at"] + timedelta(days=days)
    volunteer.update(status=to_status, version=volunteer["version"] + 1, updated_at=occurred_at)
    return {
        "id": new_id(),
        "volunteer_id": volunteer["id"],
        "from_status": VolunteerStatus.ACTIVE,
        "to_status": to_status,
        "action": action,
        "reason": reason,
        "actor_id": None,
        "occurred_at": occurred_at,
    }
