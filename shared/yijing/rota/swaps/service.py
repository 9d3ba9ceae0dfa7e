"""Swaps (换班): a week's captain asks another member of the group to take the week; the other accepts or
declines, the captain may cancel, and staff (assistants, officers, leaders, admins) may act for either side.
An accepted swap changes who serves the week, never whose rota turn it was, so the queue stays fair. A swap
lapses at the week's handoff; that is applied lazily, whenever a swap is read or acted on.

Locks: an action locks the group's row (as the rota's reconcile does), then the swap's, so two decisions on
one swap are serialised and the second finds it decided."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from yijing import conflicts
from yijing.access import STAFF, Actor
from yijing.audit import service as audit
from yijing.errors import InvalidInput
from yijing.groups import service as groups
from yijing.groups.errors import GroupNotFound
from yijing.groups.models import Group
from yijing.ids import utcnow
from yijing.kit.lifecycle import Lifecycle
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow
from yijing.notifications.jobs import notify
from yijing.notifications.service import DeliverPayload
from yijing.rota import repository
from yijing.rota.models import CaptainSource, CaptainSwap, CaptainWeek, SwapStatus
from yijing.rota.service import change_captain, require_serving_member, week_to_change
from yijing.rota.swaps.errors import (
    NotSwapParty,
    SwapAlreadyOpen,
    SwapCaptainChanged,
    SwapExpired,
    SwapNotFound,
    SwapNotOpen,
    SwapTargetNotServing,
)
from yijing.rota.swaps.schemas import SwapCreate, SwapDecision, SwapFilters, SwapRead


class SwapAction(StrEnum):
    ACCEPT = "accept"  # open → accepted: the member asked takes the week
    DECLINE = "decline"  # open → declined: the captain keeps the week
    CANCEL = "cancel"  # open → cancelled: the captain who asked withdraws


def _not_open(status: SwapStatus) -> SwapNotOpen:
    return SwapNotOpen(f"the swap is {status}", zh=f"该换班申请已是 {status} 状态", swap_status=str(status))


# Only an open swap is decided. Expiry is no action: it is applied lazily once the week's handoff passes. A
# refused decision keeps the 409 swaps have always answered (`swap_not_open`, naming its `swap_status`).
LIFECYCLE = Lifecycle(
    "swap",
    {
        SwapAction.ACCEPT: ({SwapStatus.OPEN}, SwapStatus.ACCEPTED),
        SwapAction.DECLINE: ({SwapStatus.OPEN}, SwapStatus.DECLINED),
        SwapAction.CANCEL: ({SwapStatus.OPEN}, SwapStatus.CANCELLED),
    },
    subject_zh="换班申请",
    refusal=_not_open,
    refusal_documented="From any other status: 409 (`swap_not_open`, naming its `swap_status`); once the "
    "week's handoff has passed, an open swap is marked expired: 409 (`swap_expired`).",
)


# Reading


def _lean(row: LeanRow) -> SwapRead:
    return SwapRead.of(row, row.week_start, row.from_name, row.to_name, ZoneInfo(row.timezone))


async def _written(session: AsyncSession, swap_id: uuid.UUID) -> SwapRead:
    """The read model of a swap a write has flushed (read lean, as a get reads it; the write has checked the
    caller's reach)."""
    row = await repository.read_swap(session, swap_id, true())
    assert row is not None
    return _lean(row)


async def list_swaps(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, filters: SwapFilters, page: PageParams
) -> Page[SwapRead]:
    """The group's swaps, oldest first (a volunteer: their own group's); read lean, once the lapsed ones are
    marked expired."""
    group = await groups.planned_group(session, actor, group_id)
    await repository.expire_lapsed_swaps(session, utcnow(), group_id=group.id)
    rows = await repository.swaps_of_group(session, group.id, filters, page)
    return page_of(rows, page.limit, _lean)


async def _swap_in_reach(
    session: AsyncSession, actor: Actor, swap_id: uuid.UUID
) -> tuple[CaptainSwap, Group]:
    """The swap and its group, if the caller reaches them (a volunteer: swaps of their own group), locked:
    the group's row, then the swap's (read afresh)."""
    swap = await repository.swap_in_scope(session, actor.scope, swap_id)
    if swap is None:
        raise SwapNotFound(f"no captain swap {swap_id}", zh=f"未找到换班申请 {swap_id}")
    try:
        group = await groups.get_group(session, actor, swap.group_id, for_update=True)
    except GroupNotFound:
        raise SwapNotFound(f"no captain swap {swap_id}", zh=f"未找到换班申请 {swap_id}") from None
    locked = await repository.lock_swap(session, swap_id)
    if locked is None:  # its week was removed meanwhile (the swap went with it)
        raise SwapNotFound(f"no captain swap {swap_id}", zh=f"未找到换班申请 {swap_id}")
    return locked, group


async def get_swap(session: AsyncSession, actor: Actor, swap_id: uuid.UUID) -> SwapRead:
    """A swap within the caller's reach (read lean); an open one past its expiry is marked expired first."""
    reach = groups.group_reach(actor, CaptainSwap.group_id, CaptainSwap.station_id)
    row = await repository.read_swap(session, swap_id, reach)
    if row is not None and row.status == SwapStatus.OPEN and row.expires_at <= utcnow():
        await repository.expire_lapsed_swaps(session, utcnow(), swap_id=swap_id)
        row = await repository.read_swap(session, swap_id, reach)
    if row is None:
        raise SwapNotFound(f"no captain swap {swap_id}", zh=f"未找到换班申请 {swap_id}")
    return _lean(row)


# Asking


async def _tell(
    session: AsyncSession, volunteer_id: uuid.UUID, kind: str, title: str, body: str, swap: CaptainSwap
) -> None:
    """Notify the volunteer's linked account, if they have one; once per swap and kind."""
    accounts = await repository.user_ids_of(session, [volunteer_id])
    if volunteer_id in accounts:
        await notify(
            session,
            DeliverPayload(
                recipients=[accounts[volunteer_id]],
                kind=kind,
                title=title,
                body=body[:2000],
                link=f"/api/v1/captain-swaps/{swap.id}",
                dedupe_key=f"{kind}:{swap.id}",
            ),
        )


def _is_staff(actor: Actor) -> bool:
    return actor.role in STAFF


async def request_swap(
    session: AsyncSession,
    actor: Actor,
    group_id: uuid.UUID,
    week_start: date,
    to_volunteer_id: uuid.UUID,
    reason: str,
) -> SwapRead:
    """The week's captain asks ``to_volunteer_id`` to take a week that has not started (staff may ask for
    the captain). One open swap per week."""
    group = await groups.get_group(session, actor, group_id, for_update=True)
    week = await week_to_change(session, group, week_start)
    if not _is_staff(actor) and week.volunteer_id != await groups.own_volunteer_id(session, actor):
        raise NotSwapParty(
            f"only the captain of the week starting {week_start} may ask for a swap",
            zh=f"只有从 {week_start} 开始这一周的值班队长才能申请换班",
        )
    if to_volunteer_id == week.volunteer_id:
        raise InvalidInput(
            "the week's captain cannot swap with themself",
            zh="值班队长不能与自己换班",
            errors=[
                {
                    "field": "body.to_volunteer_id",
                    "message": "is the week's captain",
                    "message_zh": "就是本周的值班队长",
                    "code": "captain",
                }
            ],
        )
    target = await require_serving_member(session, group, to_volunteer_id, "body.to_volunteer_id")
    now = utcnow()
    existing = await repository.lock_open_swap_of_week(session, week.id)
    if existing is not None and existing.from_volunteer_id != week.volunteer_id:
        # Asked by a captain the week has since lost (an override, a re-plan): void, so the new captain
        # may ask.
        existing.status = SwapStatus.CANCELLED
        existing.decided_at = now
        await session.flush()
        existing = None
    if existing is not None:
        raise SwapAlreadyOpen(
            f"the week starting {week_start} has an open swap already",
            zh=f"从 {week_start} 开始的这一周已有待处理的换班申请",
            existing_swap_id=str(existing.id),
        )
    swap = CaptainSwap(
        group_id=group.id,
        station_id=group.station_id,
        week_id=week.id,
        from_volunteer_id=week.volunteer_id,
        to_volunteer_id=target.id,
        reason=reason,
        requested_by=actor.user_id,
        expires_at=week.starts_at,
        created_at=now,
    )
    await conflicts.add(session, swap)  # an open swap of the week committed meanwhile: SwapAlreadyOpen
    read = await _written(session, swap.id)
    await _tell(
        session,
        target.id,
        "captain.swap_requested",
        "有队员请您代任义警队长",
        f"{group.name}：{read.from_name}请您接任 {week_start:%Y-%m-%d} 起一周的队长。理由：{reason}",
        swap,
    )
    await audit.record(
        session,
        actor,
        "captain.swap.request",
        target_type="captain_swap",
        target_id=swap.id,
        station_id=group.station_id,
        changes={
            "week_start": week_start.isoformat(),
            "from_volunteer_id": str(swap.from_volunteer_id),
            "to_volunteer_id": str(swap.to_volunteer_id),
            "reason": reason,
        },
    )
    return read


async def create_swap(session: AsyncSession, actor: Actor, group_id: uuid.UUID, data: SwapCreate) -> SwapRead:
    return await request_swap(session, actor, group_id, data.week_start, data.to_volunteer_id, data.reason)


# Deciding


async def _decidable(
    session: AsyncSession, actor: Actor, swap_id: uuid.UUID, action: SwapAction
) -> tuple[CaptainSwap, Group, SwapStatus]:
    """The swap, locked, and the status the action leads to, if the swap is open and unexpired and the
    caller may take the action: staff, or the volunteer on its side (the member asked accepts and declines,
    the captain who asked cancels)."""
    swap, group = await _swap_in_reach(session, actor, swap_id)
    status = LIFECYCLE.require(swap.status, action)
    if swap.expires_at <= utcnow():
        swap.status = SwapStatus.EXPIRED
        swap.decided_at = swap.expires_at
        await session.flush()
        raise SwapExpired(
            "the week's handoff has passed: the swap has expired",
            zh="该周的交接时间已过，换班申请已失效",
            swap_status="expired",
        )
    if not _is_staff(actor):
        by_captain = action is SwapAction.CANCEL
        side = swap.from_volunteer_id if by_captain else swap.to_volunteer_id
        if side != await groups.own_volunteer_id(session, actor):
            who, who_zh = (
                ("the captain who asked", "提出申请的值班队长")
                if by_captain
                else ("the member asked", "被邀请的组员")
            )
            raise NotSwapParty(
                f"only {who}, or station staff, may do this", zh=f"只有{who_zh}或派出所工作人员才能执行此操作"
            )
    return swap, group, status


def _decide(swap: CaptainSwap, actor: Actor, status: SwapStatus) -> None:
    swap.status = status
    swap.decided_by = actor.user_id
    swap.decided_at = utcnow()


async def _hand_over(session: AsyncSession, actor: Actor, swap: CaptainSwap, group: Group) -> None:
    """Accepting: the week's captain becomes the member asked, its rota turn stays whose it was. Refused
    when the week has had another captain since the swap was asked for (the swap is cancelled) or the member
    asked can no longer serve."""
    stored = await session.get(CaptainWeek, swap.week_id)
    if stored is None:
        raise SwapNotFound(f"no captain swap {swap.id}", zh=f"未找到换班申请 {swap.id}")
    week = await week_to_change(session, group, stored.week_start)
    if week.volunteer_id != swap.from_volunteer_id:
        _decide(swap, actor, SwapStatus.CANCELLED)
        await session.flush()
        raise SwapCaptainChanged(
            "the week has another captain since the swap was asked for; the swap is cancelled",
            zh="申请换班后该周已更换了值班队长，换班申请已取消",
            swap_status="cancelled",
        )
    try:
        target = await require_serving_member(session, group, swap.to_volunteer_id, "to_volunteer_id")
    except InvalidInput as exc:
        raise SwapTargetNotServing(
            f"the member asked can no longer serve: {exc.detail}",
            zh=f"被邀请的组员已不能值班：{exc.detail_zh}",
        ) from None
    await change_captain(session, group, week, target.id, CaptainSource.SWAP, swap.reason or "换班")


async def take_action(
    session: AsyncSession,
    actor: Actor,
    swap_id: uuid.UUID,
    action: SwapAction,
    data: SwapDecision | None = None,
) -> SwapRead:
    """Accept, decline or cancel an open swap. A declined or cancelled one is told to the other side (an
    accepted one is told to both by the change of captain)."""
    swap, group, status = await _decidable(session, actor, swap_id, action)
    if action is SwapAction.ACCEPT:
        await _hand_over(session, actor, swap, group)
    _decide(swap, actor, status)
    await session.flush()
    note = data.note if data is not None else None
    read = await _written(session, swap.id)
    said = f"说明：{note}" if note else ""
    week_start = f"{read.week_start:%Y-%m-%d}"
    if action is SwapAction.DECLINE:
        await _tell(
            session, swap.from_volunteer_id, "captain.swap_declined", "您的换班请求被拒绝",
            f"{group.name}：{read.to_name}未能接任 {week_start} 起一周的队长，您仍担任队长。{said}", swap,
        )  # fmt: skip
    elif action is SwapAction.CANCEL:
        await _tell(
            session, swap.to_volunteer_id, "captain.swap_cancelled", "换班请求已撤回",
            f"{group.name}：{read.from_name}撤回了请您接任 {week_start} 起一周队长的请求。{said}", swap,
        )  # fmt: skip
    await audit.record(
        session, actor, f"captain.swap.{action}", target_type="captain_swap", target_id=swap.id,
        station_id=swap.station_id, changes={"status": str(swap.status), "note": note},
    )  # fmt: skip
    return read
