"""The hazards of the last three months, the article's 133 eliminated among them, in every state."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.demo.context import TIMEZONE, DemoContext
from yijing.demo.org import ASSISTANTS, OFFICERS, SITES, VOLUNTEER
from yijing.hazards import repository as hazard_repository
from yijing.hazards.models import (
    OPEN_STATUSES,
    AttachmentKind,
    Hazard,
    HazardAttachment,
    HazardCategory,
    HazardSeverity,
    HazardSource,
    HazardStatus,
    ReporterRole,
)
from yijing.hazards.service import DEFAULT_DEADLINE_DAYS, event_row
from yijing.ids import utcnow
from yijing.settings import Settings
from yijing.storage import store_for

# Hazards: the article's three months (133 eliminated), plus those closed without a fix and those still
# open, as (status, count).
HAZARD_DAYS = 90
_HAZARD_OUTCOMES = (
    (HazardStatus.ELIMINATED, 133),
    (HazardStatus.DUPLICATE, 9),
    (HazardStatus.NOT_HAZARD, 7),
    (HazardStatus.REFERRED, 4),
    (HazardStatus.RECTIFYING, 8),
    (HazardStatus.VERIFIED, 5),
    (HazardStatus.REPORTED, 6),
)
_HAZARD_KINDS = (
    (
        HazardCategory.FIRE,
        8,
        ("液化气罐紧挨灶台，无防护", "灭火器过期未更换", "消防通道堆放杂物", "油烟管道积油严重"),
    ),
    (HazardCategory.ELECTRICAL, 4, ("电线私拉乱接", "插排串接使用", "电动车楼道内充电", "配电箱未上锁")),
    (
        HazardCategory.PUBLIC_SECURITY,
        4,
        ("监控探头损坏", "出租屋门禁损坏", "夜间照明不足", "可疑人员多次出没"),
    ),
    (HazardCategory.TRAFFIC, 2, ("摊位占道经营", "路口缺少减速标志")),
    (HazardCategory.BUILDING, 1, ("雨棚松动有坠落风险", "外墙瓷砖空鼓")),
    (HazardCategory.OTHER, 1, ("窨井盖缺失",)),
)
_AGENCIES = ("县消防救援大队", "县住建局", "县市场监管局", "县交警大队")


@dataclass
class _Story:
    """One demo hazard's history as it is written: each step by the site's officer, some hours after the
    one before (never later than ``latest``)."""

    hazard: Hazard
    officer_id: uuid.UUID
    moment: datetime
    rng: random.Random
    latest: datetime
    events: list[dict[str, Any]] = field(default_factory=list)

    def step(self, action: str, after: HazardStatus, note: str, **details: Any) -> None:
        self.moment = min(self.moment + timedelta(hours=self.rng.uniform(2, 40)), self.latest)
        before = self.hazard.status
        self.hazard.status = after
        self.hazard.version += 1
        row = event_row(self.hazard, action, self.officer_id, note=note, from_status=before, details=details)
        self.events.append(row | {"occurred_at": self.moment})


async def load(demo: DemoContext) -> int:
    """The hazards of the last HAZARD_DAYS with the history each would have: reported by the demo volunteer
    (at the night market) or an assistant, checked and closed by the site's officer, eliminated ones with an
    inspection note; open ones past their deadline flagged overdue, and a before-photo on the night
    market's open ones."""
    session, rng, sites, users = demo.session, demo.rng, demo.sites, demo.users
    now = utcnow()
    today = now.astimezone(TIMEZONE).date()
    assistants = iter(ASSISTANTS)
    site_assistants = [[users[next(assistants).phone] for _ in range(spec.assistants)] for spec in SITES]
    kinds = [(category, texts) for category, weight, texts in _HAZARD_KINDS for _ in range(weight)]
    hazards: list[Hazard] = []
    events: list[dict[str, Any]] = []
    originals: dict[uuid.UUID, Hazard] = {}
    outcomes = [status for status, count in _HAZARD_OUTCOMES for _ in range(count)]
    rng.shuffle(outcomes)
    for number, status in enumerate(outcomes):
        index = number % len(sites)
        site, officer = sites[index], users[OFFICERS[index].phone]
        # Open ones are recent; closed ones spread over the whole period.
        recent = status in OPEN_STATUSES
        age = timedelta(days=rng.uniform(0.5, 12 if recent else HAZARD_DAYS), hours=rng.uniform(0, 12))
        reported = now - age
        category, texts = rng.choice(kinds)
        severity = rng.choices(list(HazardSeverity), weights=(3, 5, 3, 1))[0]
        by_volunteer = index == 0 and number % 3 == 0
        reporter = users[VOLUNTEER.phone] if by_volunteer else rng.choice(site_assistants[index] or [officer])
        stall = SITES[index].household(rng, rng.randint(1, 200))
        hazard = Hazard(
            station_id=site.station_id, site_id=site.id, category=category, severity=severity,
            source=HazardSource.PATROL if by_volunteer else rng.choice(list(HazardSource)),
            description=f"{stall}：{rng.choice(texts)}", latitude=site.latitude, longitude=site.longitude,
            address=f"{site.name} {stall}", responsible_party=stall, reporter_id=reporter.id,
            reporter_role=ReporterRole.VOLUNTEER if by_volunteer else ReporterRole(reporter.role.value),
            reporter_volunteer_id=demo.keeper_id if by_volunteer else None,
            deadline=reported.astimezone(TIMEZONE).date() + timedelta(days=DEFAULT_DEADLINE_DAYS[severity]),
            status=HazardStatus.REPORTED, created_at=reported, updated_at=reported,
        )  # fmt: skip
        story = _Story(hazard, officer.id, reported, rng, now - timedelta(minutes=10))
        story.events.append(
            event_row(hazard, "report", reporter.id, details={"severity": severity.value})
            | {"occurred_at": reported}
        )
        if status is HazardStatus.DUPLICATE and site.id in originals:
            hazard.duplicate_of_id = originals[site.id].id
            story.step("duplicate", status, "同一问题已有报告", duplicate_of=str(hazard.duplicate_of_id))
        elif status in {HazardStatus.DUPLICATE, HazardStatus.NOT_HAZARD}:  # a duplicate needs an original
            story.step("dismiss", HazardStatus.NOT_HAZARD, "核查后不构成隐患")
        elif status is not HazardStatus.REPORTED:
            story.step("verify", HazardStatus.VERIFIED, "现场核实属实")
        if status is HazardStatus.REFERRED:
            hazard.referred_to = rng.choice(_AGENCIES)
            story.step("refer", status, "超出派出所职责范围", agency=hazard.referred_to)
        if status in {HazardStatus.RECTIFYING, HazardStatus.ELIMINATED}:
            story.step("rectify", HazardStatus.RECTIFYING, "已下达整改通知", responsible_party=stall)
        if status is HazardStatus.ELIMINATED:
            story.step("eliminate", status, "整改到位", inspection_note="复查：已整改到位", after_photo=False)
            hazard.eliminated_at = story.moment
            originals.setdefault(site.id, hazard)
        if hazard.status not in OPEN_STATUSES:
            hazard.closed_at = story.moment
        hazard.updated_at = story.moment
        if hazard.status in OPEN_STATUSES and hazard.deadline < today:
            hazard.overdue = True
            hazard.version += 1
            flagged = datetime.combine(hazard.deadline + timedelta(days=1), datetime.min.time(), TIMEZONE)
            story.events.append(
                event_row(hazard, "overdue", None, details={"deadline": str(hazard.deadline)})
                | {"occurred_at": flagged}
            )
        events.extend(story.events)
        hazards.append(hazard)
    session.add_all(hazards)
    await session.flush()
    await hazard_repository.insert_events(session, events)
    await _photos(
        session, demo.settings, [h for h in hazards if h.site_id == sites[0].id and h.status in OPEN_STATUSES]
    )
    return len(hazards)


async def _photos(session: AsyncSession, settings: Settings, hazards: list[Hazard]) -> None:
    """A before-photo for each: a plain picture, so that downloads work in the demo."""
    store = store_for(settings)
    for number, hazard in enumerate(hazards):
        picture = io.BytesIO()
        Image.new("RGB", (320, 240), (200, 60 + 20 * number % 180, 40)).save(picture, format="JPEG")
        data = picture.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        attachment = HazardAttachment(
            hazard_id=hazard.id, kind=AttachmentKind.BEFORE, media_type="image/jpeg", size_bytes=len(data),
            width=320, height=240, upload_sha256=digest, sha256=digest, file_name=f"现场照片{number + 1}.jpg",
            storage_key=f"hazards/{hazard.id}/demo-before", uploaded_by=hazard.reporter_id,
            created_at=hazard.created_at,
        )  # fmt: skip
        await hazard_repository.save(session, attachment)
        details = {"attachment_id": str(attachment.id), "kind": "before", "media_type": "image/jpeg"}
        attached = event_row(hazard, "attach", hazard.reporter_id, details=details)
        await hazard_repository.insert_events(session, [attached | {"occurred_at": hazard.created_at}])
        await store.put(attachment.storage_key, data, attachment.media_type)
