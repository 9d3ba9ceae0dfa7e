"""Column helpers every table uses, so that instants are always ``timestamptz`` and JSON is ``jsonb``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Enum, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from yijing.ids import utcnow


def instant(*, nullable: bool = False, index: bool = False) -> Any:
    """A ``timestamptz`` column; required columns default to the current instant."""
    if nullable:
        return Field(default=None, sa_type=DateTime(timezone=True), nullable=True, index=index)
    return Field(
        default_factory=utcnow,
        sa_column_kwargs={"server_default": func.now()},
        sa_type=DateTime(timezone=True),
        nullable=False,
        index=index,
    )


def enum_column(enum: type[StrEnum], *, default: StrEnum) -> Any:
    """A StrEnum stored as its value in a short VARCHAR (a CHECK constraint on the table lists the values):
    adding a value later is a plain migration, unlike PostgreSQL's ENUM types."""
    return Field(
        default=default,
        sa_type=Enum(enum, native_enum=False, create_constraint=False, length=32, values_callable=_values),
    )


def one_of(column: str, enum: type[StrEnum]) -> str:
    """A CHECK constraint's condition: ``column`` holds one of the enum's values (see :func:`enum_column`)."""
    return f"{column} IN ({', '.join(repr(member.value) for member in enum)})"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def json_column(*, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(JSONB, nullable=True))
    return Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))


__all__ = ["datetime", "enum_column", "instant", "json_column", "one_of"]
