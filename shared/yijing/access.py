"""Who is calling, and what they reach. The API's auth dependency builds a ``Principal``; services take an
``Actor`` (the principal plus where the request came from, for the audit log); repositories take a
``StationScope`` and filter in SQL, so a record outside the caller's reach is simply not found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import ColumnElement, false, true


class Role(StrEnum):
    VOLUNTEER = "volunteer"
    ASSISTANT = "assistant"  # 警务助理
    OFFICER = "officer"  # 社区民警
    LEADER = "leader"  # station leadership
    ADMIN = "admin"  # county-wide

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def name_zh(self) -> str:
        """The role as Chinese users call it, in notifications and error messages."""
        return _NAMES_ZH[self]

    def may_manage(self, other: Role) -> bool:
        """Whether this role may give ``other`` to someone, or change an account that has it: only roles
        below its own, so that no one can take over a peer's account. County admins manage admins too."""
        return other.rank < self.rank or self is Role.ADMIN


_RANKS = {Role.VOLUNTEER: 1, Role.ASSISTANT: 2, Role.OFFICER: 3, Role.LEADER: 4, Role.ADMIN: 5}
_NAMES_ZH = {
    Role.VOLUNTEER: "义警",
    Role.ASSISTANT: "警务助理",
    Role.OFFICER: "社区民警",
    Role.LEADER: "所领导",
    Role.ADMIN: "县局管理员",
}
EVERY_ROLE = frozenset(Role)
MANAGERS = frozenset({Role.LEADER, Role.ADMIN})
# Everyone who works a station rather than volunteering at it.
STAFF = frozenset({Role.ASSISTANT, Role.OFFICER, Role.LEADER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


class ApiScope(StrEnum):
    """What an API key (a machine client) may do."""

    STATS_READ = "stats:read"
    INCIDENTS_WRITE = "incidents:write"
    METRICS_READ = "metrics:read"


@dataclass(frozen=True)
class StationScope:
    """The stations a caller reaches: ``None`` means every station (county admins, county-wide keys)."""

    stations: frozenset[uuid.UUID] | None

    @classmethod
    def everywhere(cls) -> StationScope:
        return cls(None)

    @classmethod
    def nowhere(cls) -> StationScope:
        return cls(frozenset())

    def reaches(self, station_id: uuid.UUID | None) -> bool:
        return self.stations is None or station_id in self.stations

    def clause(self, column: Any) -> ColumnElement[bool]:
        """The SQL condition limiting ``column`` (a station id column) to this scope."""
        if self.stations is None:
            return true()
        if not self.stations:
            return false()
        if len(self.stations) == 1:  # a station's own staff: an equality, cheaper to build than IN (…)
            [station] = self.stations
            return column == station  # type: ignore[no-any-return]
        return column.in_(self.stations)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "api_key"]
    id: uuid.UUID
    scope: StationScope
    role: Role | None = None  # users only
    station_id: uuid.UUID | None = None  # a user's own station
    api_scopes: frozenset[ApiScope] = frozenset()  # API keys only
    session_id: uuid.UUID | None = None  # the sign-in session an access token belongs to


@dataclass(frozen=True)
class Actor:
    """Who acts through one request (or a job or command): what the audit log records.

    Three kinds, never confused: a signed-in principal (a user or an API key) reaches its scope; the
    anonymous caller of a public route reaches no station; the system (jobs, commands, the demo loader)
    reaches every station."""

    principal: Principal | None  # None: the anonymous caller, or the system
    request_id: str | None = None
    client_ip: str | None = None
    system: bool = False

    @classmethod
    def anonymous(cls, request_id: str | None = None, client_ip: str | None = None) -> Actor:
        return cls(None, request_id, client_ip)

    @property
    def kind(self) -> str:
        """user, api_key, system or anonymous (the audit log's ``actor_type``)."""
        if self.principal is not None:
            return self.principal.kind
        return "system" if self.system else "anonymous"

    @property
    def role(self) -> Role | None:
        return self.principal.role if self.principal else None

    @property
    def scope(self) -> StationScope:
        if self.principal is not None:
            return self.principal.scope
        return StationScope.everywhere() if self.system else StationScope.nowhere()

    @property
    def user_id(self) -> uuid.UUID | None:
        """The signed-in user's id; None for an API key, the anonymous caller or the system."""
        principal = self.principal
        return principal.id if principal is not None and principal.kind == "user" else None


SYSTEM = Actor(principal=None, system=True)
