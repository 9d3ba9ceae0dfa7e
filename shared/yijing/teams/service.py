"""A site's 1+2+N team: who holds its officer and assistant posts (dated, so any past team can be shown),
what the structure is missing, and how many volunteers serve there."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor, Role, StationScope
from yijing.audit import service as audit
from yijing.errors import InvalidInput
from yijing.identity import repository as identity_repository
from yijing.identity.errors import UserNotFound
from yijing.ids import utcnow
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import Reader
from yijing.org import repository as org_repository
from yijing.org import service as org
from yijing.org.errors import SiteNotFound
from yijing.org.models import Site
from yijing.teams import repository
from yijing.teams.errors import (
    AlreadyOnTeam,
    AssignmentEnded,
    AssignmentNotFound,
    PostFilled,
    PostNotGrantable,
)
from yijing.teams.models import POST_CAPACITY, Post, TeamAssignment
from yijing.teams.schemas import (
    AssignmentCreate,
    AssignmentFilters,
    AssignmentRead,
    HeldPost,
    TeamGap,
    TeamMember,
    TeamRead,
    TeamVolunteers,
)
from yijing.volunteers import repository as volunteer_repository
from yijing.volunteers.models import VolunteerStatus


def _held(assignment: TeamAssignment, site_name: str) -> HeldPost:
    return HeldPost(
        assignment_id=assignment.id, site_id=assignment.site_id, site_name=site_name,
        station_id=assignment.station_id, post=assignment.post, starts_at=assignment.starts_at,
    )  # fmt: skip


async def _site(session: AsyncSession, actor: Actor, site_id: uuid.UUID, *, for_update: bool = False) -> Site:
    site = await org_repository.get_site(session, site_id, actor.scope, for_update=for_update)
    if site is None:
        raise SiteNotFound(f"no site {site_id}", zh=f"未找到站点 {site_id}")
    return site


def _require_grantable(actor: Actor, post: Post) -> None:
    # The same rule as for accounts: officers place assistants; leaders and admins place both.
    if actor.role is not None and not actor.role.may_manage(Role(post.value)):
        raise PostNotGrantable(
            f"a {actor.role} may not assign or end the {post} post",
            zh=f"{actor.role.name_zh}无权任命或解除{Role(post.value).name_zh}岗位",
        )


async def get_team(session: AsyncSession, actor: Actor, site_id: uuid.UUID, at: datetime | None) -> TeamRead:
    site = await org.read_site(session, actor, site_id)
    held = [TeamMember.of(row) for row in await repository.read_members(session, site.id, at)]
    officers = [member for member in held if member.post is Post.OFFICER]
    assistants = [member for member in held if member.post is Post.ASSISTANT]
    gaps = [
        TeamGap(post=post, missing=POST_CAPACITY[post] - len(members))
        for post, members in ((Post.OFFICER, officers), (Post.ASSISTANT, assistants))
        if len(members) < POST_CAPACITY[post]
    ]
    by_status = dict.fromkeys(VolunteerStatus, 0) | await volunteer_repository.count_at_site(session, site.id)
    return TeamRead(
        site_id=site.id,
        station_id=site.station_id,
        at=at or utcnow(),
        officer=officers[0] if officers else None,
        assistants=assistants,
        volunteers=TeamVolunteers(serving=by_status[VolunteerStatus.ACTIVE], by_status=by_status),
        gaps=gaps,
        complete=not gaps,
    )


async def list_assignments(
    reader: Reader, actor: Actor, site_id: uuid.UUID, filters: AssignmentFilters, page: PageParams
) -> Page[AssignmentRead]:
    site = await org.read_site(reader, actor, site_id)
    rows = await repository.list_assignments(reader, site.id, filters, page)
    return page_of(rows, page.limit, lambda row: AssignmentRead.of(row, row.name))


async def assign(
    session: AsyncSession, actor: Actor, site_id: uuid.UUID, data: AssignmentCreate
) -> AssignmentRead:
    _require_grantable(actor, data.post)
    # The site's row lock serialises changes to its team, so the post capacities hold under concurrency.
    site = await _site(session, actor, site_id, for_update=True)
    user = await identity_repository.get_user(
        session, data.user_id, StationScope(frozenset({site.station_id}))
    )
    if user is None:
        raise UserNotFound(
            f"no user {data.user_id} in the site's station", zh=f"站点所属派出所中未找到用户 {data.user_id}"
        )
    if user.role is not Role(data.post.value) or not user.is_active:
        post_zh = Role(data.post.value).name_zh
        raise InvalidInput(
            f"the {data.post} post needs an active {data.post} account",
            zh=f"{post_zh}岗位需要一个启用中的{post_zh}账号",
            errors=[
                {
                    "field": "body.user_id",
                    "message": f"the account's role is {user.role}"
                    + ("" if user.is_active else ", and it is disabled"),
                    "message_zh": f"该账号的角色是{user.role.name_zh}"
                    + ("" if user.is_active else "，且已停用"),
                    "code": "post_role",
                }
            ],
        )
    held = await repository.held_at(session, site.id, None)
    if any(assignment.user_id == user.id for assignment, _ in held):
        raise AlreadyOnTeam(f"{user.name} already holds a post at this site", zh=f"{user.name}已在该站点任职")
    holders = [(assignment, name) for assignment, name in held if assignment.post is data.post]
    if len(holders) >= POST_CAPACITY[data.post]:
        names = "、".join(name for _, name in holders)
        raise PostFilled(
            f"the site's {data.post} post is filled ({names}); end an assignment first",
            zh=f"该站点的{Role(data.post.value).name_zh}岗位已满（{names}），请先解除一项任职",
            holders=[
                {"assignment_id": str(a.id), "user_id": str(a.user_id), "name": name} for a, name in holders
            ],
        )
    principal = actor.principal
    assignment = TeamAssignment(
        station_id=site.station_id, site_id=site.id, user_id=user.id, post=data.post,
        assigned_by=principal.id if principal else None,
    )  # fmt: skip
    await repository.save(session, assignment)
    await audit.record(
        session,
        actor,
        "team.assign",
        target_type="team_assignment",
        target_id=assignment.id,
        station_id=site.station_id,
        changes={"site_id": str(site.id), "user_id": str(user.id), "post": data.post},
    )
    return AssignmentRead.of(assignment, user.name)


async def end_assignment(
    session: AsyncSession, actor: Actor, site_id: uuid.UUID, assignment_id: uuid.UUID, reason: str
) -> AssignmentRead:
    site = await _site(session, actor, site_id, for_update=True)
    assignment = await repository.get(session, assignment_id, site.id, for_update=True)
    if assignment is None:
        raise AssignmentNotFound(
            f"no team assignment {assignment_id} at this site", zh=f"该站点没有任职记录 {assignment_id}"
        )
    _require_grantable(actor, assignment.post)
    if assignment.ends_at is not None:
        raise AssignmentEnded(
            f"the assignment ended at {assignment.ends_at.isoformat()}",
            zh=f"该任职已于 {assignment.ends_at.isoformat()} 结束",
        )
    principal = actor.principal
    assignment.ends_at = utcnow()
    assignment.end_reason = reason
    assignment.ended_by = principal.id if principal else None
    await repository.save(session, assignment)
    await audit.record(
        session, actor, "team.end", target_type="team_assignment", target_id=assignment.id,
        station_id=site.station_id, changes={"reason": reason},
    )  # fmt: skip
    return AssignmentRead.of(assignment, await repository.holder_name(session, assignment.user_id))


async def site_staff(session: AsyncSession, site_id: uuid.UUID) -> list[uuid.UUID]:
    """The accounts of the site's officer and assistants now: who follows its hazards and disputes up."""
    return [assignment.user_id for assignment, _ in await repository.held_at(session, site_id, utcnow())]


async def current_posts(session: AsyncSession, user_id: uuid.UUID) -> list[HeldPost]:
    """The posts the user holds now, by site name: how an officer or assistant finds their sites."""
    return [
        _held(assignment, site_name)
        for assignment, site_name in await repository.held_by(session, user_id, utcnow())
    ]
