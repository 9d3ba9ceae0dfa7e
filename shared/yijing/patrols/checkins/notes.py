"""Notes on check-ins: a check-in is never edited, but its member or station staff may say more about it
("the fix drifted across the river here"). At most ``MAX_NOTES`` per check-in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import STAFF, Actor
from yijing.errors import Forbidden
from yijing.patrols import service as patrols
from yijing.patrols.checkins import repository
from yijing.patrols.checkins.errors import CheckinNotFound, TooManyNotes
from yijing.patrols.checkins.models import CheckinNote, PatrolCheckin
from yijing.patrols.checkins.schemas import CheckinNoteCreate
from yijing.volunteers import repository as volunteers_repository

MAX_NOTES = 50


async def _checkin(
    session: AsyncSession,
    actor: Actor,
    patrol_id: uuid.UUID,
    checkin_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> PatrolCheckin:
    patrol = await patrols.get_patrol(session, actor, patrol_id)
    checkin = await repository.get(session, patrol.id, checkin_id, for_update=for_update)
    if checkin is None:
        raise CheckinNotFound(
            f"no check-in {checkin_id} of the patrol {patrol_id}",
            zh=f"巡防 {patrol_id} 没有打卡记录 {checkin_id}",
        )
    return checkin


async def add_note(
    session: AsyncSession, actor: Actor, patrol_id: uuid.UUID, checkin_id: uuid.UUID, data: CheckinNoteCreate
) -> CheckinNote:
    # Locked, so that two notes at once cannot both pass the count.
    checkin = await _checkin(session, actor, patrol_id, checkin_id, for_update=True)
    if actor.role not in STAFF:
        volunteer = await volunteers_repository.active_volunteer_of(session, actor.user_id)
        if volunteer is None or volunteer.id != checkin.volunteer_id:
            raise Forbidden(
                "a check-in is annotated by the member who made it or by station staff",
                zh="只有打卡的队员本人或派出所工作人员可以为打卡添加备注",
            )
    assert actor.user_id is not None  # people only: API keys are refused by the route's access
    if len(await repository.notes_of(session, checkin.id)) >= MAX_NOTES:
        raise TooManyNotes(
            f"a check-in has at most {MAX_NOTES} notes", zh=f"每条打卡记录最多 {MAX_NOTES} 条备注"
        )
    return await repository.save(
        session, CheckinNote(checkin_id=checkin.id, author_id=actor.user_id, text=data.text)
    )


async def list_notes(
    session: AsyncSession, actor: Actor, patrol_id: uuid.UUID, checkin_id: uuid.UUID
) -> Sequence[CheckinNote]:
    checkin = await _checkin(session, actor, patrol_id, checkin_id)
    return await repository.notes_of(session, checkin.id)
