from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yijing.kit.reads import LeanRow, by_value, read_model
from yijing.teams.models import Post, TeamAssignment
from yijing.types import NOT_BLANK, QueryBool
from yijing.volunteers.models import VolunteerStatus

_STATION_ID = "0193a6a4-1111-7c3d-8f2a-3b4c5d6e7f80"
_SITE_ID = "0193a6a4-2222-7c3d-8f2a-3b4c5d6e7f80"
_USER_ID = "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f80"
_ASSIGNMENT_ID = "0193a6a4-7777-7c3d-8f2a-3b4c5d6e7f80"
_MEMBER_EXAMPLE: dict[str, Any] = {
    "assignment_id": _ASSIGNMENT_ID,
    "user_id": _USER_ID,
    "name": "林警官",
    "post": "officer",
    "starts_at": "2023-07-01T09:00:00+08:00",
    "ends_at": None,
}


class AssignmentCreate(BaseModel):
    """The user must hold the post's role (officer or assistant) in the site's station. Officers assign
    assistants; station leaders and county admins assign both."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"user_id": _USER_ID, "post": "officer"}]}
    )

    user_id: uuid.UUID
    post: Post


class AssignmentEnd(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "调往万家广场"}]})

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK)]


class AssignmentFilters(BaseModel):
    """The team assignments list's filters."""

    include_ended: Annotated[QueryBool, Field(description="Include ended assignments")] = False


_POSTS = by_value(Post)


class AssignmentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **{key: value for key, value in _MEMBER_EXAMPLE.items() if key != "assignment_id"},
                    "id": _ASSIGNMENT_ID,
                    "site_id": _SITE_ID,
                    "end_reason": None,
                    "assigned_by": "0193a6a4-3333-7c3d-8f2a-3b4c5d6e7f81",
                    "ended_by": None,
                }
            ]
        }
    )

    id: uuid.UUID
    site_id: uuid.UUID
    user_id: uuid.UUID
    name: str = Field(description="The user's name")
    post: Post
    starts_at: datetime
    ends_at: datetime | None = Field(description="Null while the assignment lasts")
    end_reason: str | None
    assigned_by: uuid.UUID | None
    ended_by: uuid.UUID | None

    @classmethod
    def of(cls, assignment: TeamAssignment | LeanRow, name: str) -> AssignmentRead:
        """From a record or a lean row of its columns (:data:`yijing.teams.repository.SHOWN`), as stored:
        not validated again (a lean row's post is the driver's string)."""
        return read_model(
            cls,
            id=assignment.id, site_id=assignment.site_id, user_id=assignment.user_id, name=name,
            post=_POSTS[assignment.post], starts_at=assignment.starts_at, ends_at=assignment.ends_at,
            end_reason=assignment.end_reason, assigned_by=assignment.assigned_by,
            ended_by=assignment.ended_by,
        )  # fmt: skip


class TeamMember(BaseModel):
    assignment_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    post: Post
    starts_at: datetime
    ends_at: datetime | None

    @classmethod
    def of(cls, member: LeanRow) -> TeamMember:
        """From a lean row of :data:`yijing.teams.repository.MEMBER_SHOWN`, as stored."""
        return read_model(
            cls,
            assignment_id=member.assignment_id, user_id=member.user_id, name=member.name,
            post=_POSTS[member.post], starts_at=member.starts_at, ends_at=member.ends_at,
        )  # fmt: skip


class HeldPost(BaseModel):
    """A post someone holds now: the link between an officer or assistant and their site."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "assignment_id": _ASSIGNMENT_ID,
                    "site_id": _SITE_ID,
                    "site_name": "滨河路夜市",
                    "station_id": _STATION_ID,
                    "post": "officer",
                    "starts_at": "2023-07-01T09:00:00+08:00",
                }
            ]
        }
    )

    assignment_id: uuid.UUID
    site_id: uuid.UUID
    site_name: str
    station_id: uuid.UUID
    post: Post
    starts_at: datetime


class TeamGap(BaseModel):
    post: Post
    missing: int = Field(description="How many more the 1+2 structure needs")


class TeamVolunteers(BaseModel):
    serving: int = Field(description="Active volunteers (the N of 1+2+N)")
    by_status: dict[VolunteerStatus, int] = Field(description="Every status, zeros included")


class TeamRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site_id": _SITE_ID,
                    "station_id": _STATION_ID,
                    "at": "2026-11-29T10:00:00+08:00",
                    "officer": _MEMBER_EXAMPLE,
                    "assistants": [],
                    "volunteers": {
                        "serving": 180,
                        "by_status": {"applied": 2, "active": 180, "suspended": 1, "retired": 3},
                    },
                    "gaps": [{"post": "assistant", "missing": 2}],
                    "complete": False,
                }
            ]
        }
    )

    site_id: uuid.UUID
    station_id: uuid.UUID
    at: datetime = Field(description="The instant the officer and assistants are shown for")
    officer: TeamMember | None
    assistants: list[TeamMember]
    volunteers: TeamVolunteers = Field(description="The site's volunteers now (not at `at`)")
    gaps: list[TeamGap] = Field(description="Posts the 1+2 structure is missing at `at`")
    complete: bool = Field(description="True when the site has its officer and both assistants")
