from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Uuid, text
from sqlmodel import Field, SQLModel

from yijing.columns import enum_column, instant
from yijing.ids import new_id


class Post(StrEnum):
    """A staff post in a site's 1+2+N team."""

    OFFICER = "officer"  # 社区民警: one per site
    ASSISTANT = "assistant"  # 警务助理: two per site


POST_CAPACITY = {Post.OFFICER: 1, Post.ASSISTANT: 2}


class TeamAssignment(SQLModel, table=True):
    """Someone holding a post at a site from ``starts_at`` until ``ends_at`` (open while null). Ended
    assignments stay, so the team on any past day can be reconstructed."""

    __tablename__ = "team_assignments"
    __table_args__ = (
        CheckConstraint("post IN ('officer', 'assistant')", name="post_known"),
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        # One community officer at a time, and nobody in two open posts at one site.
        Index(
            "uq_team_assignments_one_officer",
            "site_id",
            unique=True,
            postgresql_where=text("post = 'officer' AND ends_at IS NULL"),
        ),
        Index(
            "uq_team_assignments_open_member",
            "site_id",
            "user_id",
            unique=True,
            postgresql_where=text("ends_at IS NULL"),
        ),
        Index("ix_team_assignments_site_id_starts_at", "site_id", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="stations.id", index=True)
    site_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    post: Post = enum_column(Post, default=Post.ASSISTANT)
    starts_at: datetime = instant()
    ends_at: datetime | None = instant(nullable=True)
    end_reason: str | None = Field(default=None, max_length=500)
    assigned_by: uuid.UUID | None = Field(default=None)
    ended_by: uuid.UUID | None = Field(default=None)
