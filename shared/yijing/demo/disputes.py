"""The article's 258 small disputes (parking rows, quarrels) stepped into and settled by 26 October 2023."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from yijing.db import copy_records
from yijing.demo.context import PILOT_START, TIMEZONE, DemoContext, opening
from yijing.demo.org import FORMER_OFFICER, OFFICERS, SITES, VOLUNTEER
from yijing.demo.patrols import QUARREL_NIGHT
from yijing.disputes.models import (
    DisputeKind,
    DisputeOutcome,
    DisputeSource,
    DisputeStatus,
    EscalationTarget,
    FollowupOutcome,
    MediatorRole,
    PartyRole,
)
from yijing.ids import new_id, utcnow
from yijing.org.models import SiteKind
from yijing.patrols.logs.models import LogKind, PatrolLog
from yijing.patrols.models import Patrol, PatrolStatus
from yijing.personal import PersonalDataProtector, id_card_check_code, protector_for

# The article's date: "258 small disputes … settled" from the pilot's start to then.
ARTICLE_DAY = date(2023, 10, 26)
RESOLVED_BY_ARTICLE = 258
# Closed otherwise by then: handed on, and the few that mediation could not settle.
_ESCALATED_BY_ARTICLE = (EscalationTarget.POLICE_CASE,) * 3 + (EscalationTarget.MEDIATION_COMMITTEE,) * 3
_FAILED_BY_ARTICLE = 2
# After the article the programme went on at the same pace: disputes a day, as weights of 0…4.
_PER_DAY = (1, 3, 4, 2, 1)
# Of the later ones, out of a hundred: handed on, and failed (the rest resolved).
_ESCALATED_PERCENT, _FAILED_PERCENT = 3, 1
_PLAZA_HANDOVER = datetime(2023, 8, 1, 9, 0, tzinfo=TIMEZONE)  # the plaza's officer before it: the former one
FOLLOWUP_DAYS = 7

# By site kind: (kind, weight, accounts).
_KINDS = {
    SiteKind.NIGHT_MARKET: (
        (DisputeKind.PARKING, 10, ("两车主因占用卸货车位发生争执", "电动车停放挡住摊位通道，摊主与车主争吵")),
        (DisputeKind.QUARREL, 8, ("食客与摊主因排队顺序发生口角", "两桌食客酒后言语冲突")),
        (DisputeKind.CONSUMER, 2, ("顾客认为烧烤缺斤短两，与摊主争执",)),
        (DisputeKind.OTHER, 1, ("相邻摊位因占道摆放发生争执",)),
    ),
    SiteKind.PLAZA: (
        (DisputeKind.PARKING, 6, ("车辆占用消防通道，车主与保安争执",)),
        (DisputeKind.QUARREL, 4, ("广场舞音响音量引发口角",)),
        (DisputeKind.CONSUMER, 2, ("顾客要求退换商品被拒，与店员争执",)),
    ),
    SiteKind.COMMERCIAL_STREET: (
        (DisputeKind.PARKING, 5, ("店门口临时停车挡住相邻店铺",)),
        (DisputeKind.CONSUMER, 3, ("顾客对维修费用有异议，与店主争执",)),
        (DisputeKind.TRAFFIC, 2, ("电动车与行人轻微碰擦，双方就赔偿争执",)),
        (DisputeKind.QUARREL, 2, ("两名顾客排队时发生口角",)),
    ),
    SiteKind.RENTAL_AREA: (
        (DisputeKind.NEIGHBOUR, 4, ("楼上漏水引发邻里纠纷", "租户深夜噪音扰民，邻居上门理论")),
        (DisputeKind.RENT_PROPERTY, 4, ("退租时押金退还发生争议", "房东与租户因水电费分摊争执")),
        (DisputeKind.PARKING, 2, ("电动车楼道停放引发争执",)),
        (DisputeKind.QUARREL, 1, ("合租室友因卫生问题发生口角",)),
    ),
}
_OUTCOMES = (
    (DisputeOutcome.SETTLED_ON_SPOT, 70),
    (DisputeOutcome.WRITTEN_AGREEMENT, 12),
    (DisputeOutcome.APOLOGY, 12),
    (DisputeOutcome.COMPENSATION, 6),
)
_AGREEMENTS = (
    "双方同意错峰使用卸货车位，晚八点后车位归摊位使用",
    "双方约定按实际用量分摊水电费，本月底前结清",
)
_SURNAMES = "林陈黄郑王张刘吴李翁魏杨何周许游叶江高潘"
# "义警队员在夜市巡逻时，发现几名年轻人在一烧烤店门口聚集并发生争吵，义警第一时间介入劝解": met on that
# night's patrol at 22:10 (the patrol log's entry), settled on the spot.
_QUARREL = "几名年轻人在烧烤店门口聚集争吵，义警第一时间上前劝解，双方散去，未升级为打架斗殴"
_QUARREL_AT = time(22, 10)


@dataclass
class _Case:
    """One dispute's rows as they are stored: the case, its parties, mediators, history and visits."""

    dispute: dict[str, Any]
    mediator_id: uuid.UUID | None  # the account acting on it
    events: list[dict[str, Any]]


async def load(demo: DemoContext) -> int:
    """The disputes since the pilot began, in bulk: the article's 258 resolved by its date (with a few
    escalated and failed), then as many a day up to now, the last ones still open; each with its two
    parties, its mediator (the demo volunteer at the night market, else the site's officer), its history
    and its follow-up visit. From a random source of this step's own."""
    rng = random.Random(2026)  # noqa: S311 - invented cases, the same every time
    protector = protector_for(demo.settings.personal_data_key)
    patrols = await _nights(demo)
    today = utcnow().astimezone(TIMEZONE).date()
    plan = _by_article(rng) + _since_article(rng, today)
    cases = [_case(demo, rng, day, status, patrols) for day, status in plan]
    rows: dict[str, list[dict[str, Any]]] = {
        "disputes": [case.dispute for case in cases],
        "dispute_parties": [party for case in cases for party in _parties(rng, protector, case)],
        "dispute_mediators": [mediator for case in cases for mediator in _mediators(demo, case)],
        "dispute_followups": [visit for case in cases for visit in _visits(rng, case, today)],
        "dispute_events": [event for case in cases for event in case.events],
    }
    # COPY: many times faster than INSERT for these thousands of rows (the events' details as JSON text).
    for table, table_rows in rows.items():
        columns = list(table_rows[0])
        records = [
            tuple(
                json.dumps(row[name], ensure_ascii=False) if name == "details" else row[name]
                for name in columns
            )
            for row in table_rows
        ]
        await copy_records(demo.session, table, columns, records)
    # The article's quarrel: the night's log entry is its record on the patrol.
    quarrel = next(case.dispute for case in cases if case.dispute["account"] == _QUARREL)
    await demo.session.execute(
        update(PatrolLog)
        .where(col(PatrolLog.patrol_id) == quarrel["patrol_id"], col(PatrolLog.kind) == LogKind.DISPUTE)
        .values(dispute_id=quarrel["id"])
    )
    return len(cases)


async def _nights(demo: DemoContext) -> dict[date, uuid.UUID]:
    """The night market's walked patrols, by evening: a dispute met on one links to it."""
    query = select(col(Patrol.planned_start), col(Patrol.id)).where(
        col(Patrol.site_id) == demo.sites[0].id, col(Patrol.status) == PatrolStatus.COMPLETED
    )
    return {
        start.astimezone(TIMEZONE).date(): patrol_id for start, patrol_id in await demo.session.execute(query)
    }


def _by_article(rng: random.Random) -> list[tuple[date, DisputeStatus]]:
    """The evenings and outcomes up to the article's date: exactly its 258 resolved among them."""
    statuses = [DisputeStatus.RESOLVED] * RESOLVED_BY_ARTICLE
    statuses += [DisputeStatus.ESCALATED] * len(_ESCALATED_BY_ARTICLE) + [
        DisputeStatus.FAILED
    ] * _FAILED_BY_ARTICLE
    span = (ARTICLE_DAY - PILOT_START.date()).days
    # The others fall on other evenings: a case resolved on the quarrel's night would be taken for it.
    evenings = [PILOT_START.date() + timedelta(days=day) for day in range(span + 1)]
    evenings.remove(QUARREL_NIGHT)
    days = sorted(rng.choice(evenings) for _ in statuses[1:])
    rng.shuffle(statuses)
    # The article's quarrel outside the barbecue shop is one of them.
    statuses.remove(DisputeStatus.RESOLVED)
    return sorted([(QUARREL_NIGHT, DisputeStatus.RESOLVED), *zip(days, statuses, strict=True)])


def _since_article(rng: random.Random, today: date) -> list[tuple[date, DisputeStatus]]:
    """After the article, up to last night at the same pace; the last three still open."""
    plan = []
    day = ARTICLE_DAY + timedelta(days=1)
    while day < today:
        for _ in range(rng.choices(range(len(_PER_DAY)), _PER_DAY)[0]):
            roll = rng.randrange(100)
            status = (
                DisputeStatus.ESCALATED
                if roll < _ESCALATED_PERCENT
                else DisputeStatus.FAILED
                if roll < _ESCALATED_PERCENT + _FAILED_PERCENT
                else DisputeStatus.RESOLVED
            )
            plan.append((day, status))
        day += timedelta(days=1)
    for number, status in enumerate(
        (DisputeStatus.REPORTED, DisputeStatus.MEDIATING, DisputeStatus.MEDIATING)
    ):
        plan[-1 - number] = (plan[-1 - number][0], status)
    return plan


def _site_index(rng: random.Random, day: date) -> int:
    """Most at the night market; a site's only once it joined the pilot."""
    opened = [index for index in range(len(SITES)) if opening(index).date() <= day]
    return rng.choices(opened, [6 if index == 0 else 2 for index in opened])[0]


def _case(
    demo: DemoContext, rng: random.Random, day: date, status: DisputeStatus, patrols: dict[date, uuid.UUID]
) -> _Case:
    """A case of that evening (night-market hours), first stepped into within minutes and settled within
    the hour; the history of each step. The article's quarrel on its night."""
    article = day == QUARREL_NIGHT and status is DisputeStatus.RESOLVED
    index = 0 if article else _site_index(rng, day)
    spec, site = SITES[index], demo.sites[index]
    kinds = _KINDS[spec.kind]
    kind, _, accounts = rng.choices(kinds, [weight for _, weight, _ in kinds])[0]
    reported = datetime.combine(day, time(18, 30), TIMEZONE) + timedelta(minutes=rng.randint(0, 210))
    if article:
        kind, accounts, reported = (
            DisputeKind.QUARREL,
            (_QUARREL,),
            datetime.combine(day, _QUARREL_AT, TIMEZONE),
        )
    officer = demo.users[
        (FORMER_OFFICER if index == 1 and reported < _PLAZA_HANDOVER else OFFICERS[index]).phone
    ].id
    keeper = demo.users[VOLUNTEER.phone].id
    patrol_id = patrols.get(day) if index == 0 and time(19, 10) <= reported.time() <= time(22, 50) else None
    on_patrol = patrol_id is not None and (article or rng.random() < 0.5)
    source = DisputeSource.PATROL if on_patrol else rng.choice(
        (DisputeSource.RESIDENT, DisputeSource.RESIDENT, DisputeSource.CAPTAIN, DisputeSource.REPORT)
    )  # fmt: skip
    mediator_id = keeper if index == 0 else officer
    record: dict[str, Any] = {
        "id": new_id(), "station_id": site.station_id, "site_id": site.id, "kind": kind, "source": source,
        "patrol_id": patrol_id if on_patrol else None,
        "address": f"{site.name} {spec.household(rng, rng.randint(1, 200))}",
        "latitude": site.latitude, "longitude": site.longitude,
        "occurred_at": reported - timedelta(minutes=rng.randint(1, 10)), "reported_at": reported,
        "account": rng.choice(accounts),
        "risk_of_violence": article or (kind is DisputeKind.QUARREL and rng.random() < 0.3),
        "party_count": 2, "reporter_id": keeper if on_patrol else officer, "client_id": None,
        "status": status,
        "outcome": None, "agreement_text": None, "compensation_amount": None, "escalated_to": None,
        "escalation_reference": None, "failure_reason": None, "mediating_at": None,
        "intervention_seconds": None, "resolved_at": None, "resolution_seconds": None, "closed_at": None,
        "version": 1, "created_at": reported, "updated_at": reported,
    }  # fmt: skip
    case = _Case(record, None, [])
    case.events.append(
        _event(record, "report", record["reporter_id"], reported, kind=kind.value, source=source.value)
    )
    if status is DisputeStatus.REPORTED:
        return case
    case.mediator_id = mediator_id
    # Mostly within ten minutes of the report.
    mediating = reported + timedelta(
        minutes=rng.randint(1, 10) if rng.random() < 0.85 else rng.randint(11, 35)
    )
    record |= {"mediating_at": mediating, "intervention_seconds": int((mediating - reported).total_seconds())}
    _step(case, "mediate", DisputeStatus.MEDIATING, mediating, "到场劝解，分开双方")
    if status is DisputeStatus.MEDIATING:
        return case
    closed = mediating + timedelta(minutes=rng.randint(8, 70))
    record["closed_at"] = closed
    if status is DisputeStatus.RESOLVED:
        outcome = rng.choices([value for value, _ in _OUTCOMES], [weight for _, weight in _OUTCOMES])[0]
        outcome = DisputeOutcome.SETTLED_ON_SPOT if article else outcome
        record |= {"outcome": outcome, "resolved_at": closed}
        record["resolution_seconds"] = int((closed - reported).total_seconds())
        if outcome is DisputeOutcome.WRITTEN_AGREEMENT:
            record["agreement_text"] = rng.choice(_AGREEMENTS)
        if outcome is DisputeOutcome.COMPENSATION:
            record["compensation_amount"] = Decimal(rng.randrange(50, 800, 10))
        _step(case, "resolve", status, closed, "双方达成一致", outcome=outcome.value)
    elif status is DisputeStatus.ESCALATED:
        target = rng.choice(_ESCALATED_BY_ARTICLE)
        reference = (
            f"甘公(治)字〔{day.year}〕{day:%m%d}-{rng.randint(1, 20):02d}"
            if target is EscalationTarget.POLICE_CASE
            else f"甘蔗街道人调〔{day.year}〕第{rng.randint(1, 60)}号"
        )
        record |= {"escalated_to": target, "escalation_reference": reference}
        _step(
            case,
            "escalate",
            status,
            closed,
            "双方分歧较大，移交处理",
            escalated_to=target.value,
            reference=reference,
        )
    else:
        record["failure_reason"] = "一方拒绝调解，已告知诉讼途径"
        _step(case, "fail", status, closed, record["failure_reason"])
    return case


def _event(
    record: dict[str, Any], action: str, actor_id: uuid.UUID | None, at: datetime, **details: Any
) -> dict[str, Any]:
    return {
        "id": new_id(), "dispute_id": record["id"], "action": action, "from_status": None, "to_status": None,
        "note": None, "actor_id": actor_id, "details": details, "occurred_at": at,
    }  # fmt: skip


def _step(case: _Case, action: str, status: DisputeStatus, at: datetime, note: str, **details: Any) -> None:
    """An action of the lifecycle by the case's mediator: the status it leaves and the one it makes."""
    record = case.dispute
    event = _event(record, action, case.mediator_id, at, **details)
    before = case.events[-1]["to_status"] or DisputeStatus.REPORTED
    case.events.append(event | {"from_status": before, "to_status": status, "note": note})
    record |= {"version": record["version"] + 1, "updated_at": at}


def _parties(rng: random.Random, protector: PersonalDataProtector, case: _Case) -> list[dict[str, Any]]:
    """Two parties, 林某 and 陈某 style, with a mobile number each (sealed) and, for some applicants, an
    ID-card number."""
    rows = []
    for position, role in enumerate((PartyRole.APPLICANT, PartyRole.RESPONDENT), start=1):
        phone = protector.protect_mobile(f"137{rng.randrange(10**8):08d}")
        row: dict[str, Any] = {
            "id": new_id(), "dispute_id": case.dispute["id"], "position": position,
            "name": f"{rng.choice(_SURNAMES)}某", "role": role, "phone_sealed": phone.sealed,
            "phone_fingerprint": phone.fingerprint, "phone_masked": phone.masked, "id_card_sealed": None,
            "id_card_fingerprint": None, "id_card_masked": None,
        }  # fmt: skip
        if role is PartyRole.APPLICANT and rng.random() < 0.3:
            born = date(1960, 1, 1) + timedelta(days=rng.randint(0, 40 * 365))
            first17 = f"350121{born:%Y%m%d}{rng.randrange(1000):03d}"
            card = protector.protect_id_card(first17 + id_card_check_code(first17))
            row |= {
                "id_card_sealed": card.sealed,
                "id_card_fingerprint": card.fingerprint,
                "id_card_masked": card.masked,
            }
        rows.append(row)
    return rows


def _mediators(demo: DemoContext, case: _Case) -> list[dict[str, Any]]:
    if case.mediator_id is None:
        return []
    volunteer = case.mediator_id == demo.users[VOLUNTEER.phone].id
    return [
        {
            "id": new_id(), "dispute_id": case.dispute["id"],
            "role": MediatorRole.VOLUNTEER if volunteer else MediatorRole.OFFICER,
            "volunteer_id": demo.keeper_id if volunteer else None, "user_id": case.mediator_id,
            "added_at": case.dispute["mediating_at"],
        }
    ]  # fmt: skip


def _visits(rng: random.Random, case: _Case, today: date) -> list[dict[str, Any]]:
    """A resolved case's follow-up visit, due a week on: made (mostly holding, a few unreachable) once its
    day has passed, still to make for the last week's."""
    record = case.dispute
    if record["status"] is not DisputeStatus.RESOLVED:
        return []
    resolved = record["resolved_at"]
    due = resolved.astimezone(TIMEZONE).date() + timedelta(days=FOLLOWUP_DAYS)
    visit: dict[str, Any] = {
        "id": new_id(), "dispute_id": record["id"], "station_id": record["station_id"], "due_on": due,
        "reminded_at": None, "overdue": False, "outcome": None, "note": None, "visited_at": None,
        "visited_by": None, "created_at": resolved,
    }  # fmt: skip
    if due < today:
        visited = datetime.combine(due, time(15, 0), TIMEZONE) + timedelta(minutes=rng.randint(0, 240))
        reminded = datetime.combine(due, time(9, 0), TIMEZONE)
        outcome = FollowupOutcome.UNREACHABLE if rng.random() < 0.05 else FollowupOutcome.HOLDING
        note = "电话回访无人接听" if outcome is FollowupOutcome.UNREACHABLE else "双方未再发生争执"
        visit |= {
            "reminded_at": reminded,
            "outcome": outcome,
            "note": note,
            "visited_at": visited,
            "visited_by": case.mediator_id,
        }
        case.events.append(
            _event(record, "followup", case.mediator_id, visited, outcome=outcome.value) | {"note": note}
        )
    return [visit]
