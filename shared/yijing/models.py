"""Every table, imported in one place so that ``SQLModel.metadata`` is complete for migrations and tests.
A new domain adds its models module here."""

from sqlmodel import SQLModel

from yijing.audit.models import AuditEvent
from yijing.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeFollowup,
    DisputeMediator,
    DisputeParty,
    DisputeSettings,
)
from yijing.groups.models import Group, GroupMembership
from yijing.hazards.models import Hazard, HazardAttachment, HazardDeadlineRule, HazardEvent
from yijing.idempotency import IdempotencyKey
from yijing.identity.models import (
    ApiKey,
    ApiKeyUsage,
    AuthSession,
    LoginFailure,
    RefreshToken,
    User,
    UserSite,
)
from yijing.incidents.models import Incident, IncidentCode, IncidentImport
from yijing.jobs.models import JobRun
from yijing.notifications.models import Notification
from yijing.org.models import Site, Station
from yijing.outbox.models import OutboxMessage
from yijing.patrols.checkins.models import CheckinNote, PatrolCheckin
from yijing.patrols.logs.models import PatrolLog, PatrolLogPhoto
from yijing.patrols.models import Patrol, PatrolCheckpointResult, PatrolMember
from yijing.patrols.plans.models import PatrolPlan, PatrolPlanMember
from yijing.patrols.routes.models import PatrolCheckpoint, PatrolRoute
from yijing.rota.models import CalendarFeed, CaptainNotice, CaptainSwap, CaptainWeek, Unavailability
from yijing.stats.models import DailyRollup, RollupDay
from yijing.system.models import Heartbeat
from yijing.teams.models import TeamAssignment
from yijing.training.models import (
    AttendanceRule,
    OnlineAttendanceImport,
    Training,
    TrainingAttendance,
    TrainingAudience,
)
from yijing.volunteers.models import Volunteer, VolunteerImport, VolunteerStatusChange

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "ApiKeyUsage",
    "AttendanceRule",
    "AuditEvent",
    "AuthSession",
    "CalendarFeed",
    "CaptainNotice",
    "CaptainSwap",
    "CaptainWeek",
    "CheckinNote",
    "DailyRollup",
    "Dispute",
    "DisputeEvent",
    "DisputeFollowup",
    "DisputeMediator",
    "DisputeParty",
    "DisputeSettings",
    "Group",
    "GroupMembership",
    "Hazard",
    "HazardAttachment",
    "HazardDeadlineRule",
    "HazardEvent",
    "Heartbeat",
    "IdempotencyKey",
    "Incident",
    "IncidentCode",
    "IncidentImport",
    "JobRun",
    "LoginFailure",
    "Notification",
    "OnlineAttendanceImport",
    "OutboxMessage",
    "Patrol",
    "PatrolCheckin",
    "PatrolCheckpoint",
    "PatrolCheckpointResult",
    "PatrolLog",
    "PatrolLogPhoto",
    "PatrolMember",
    "PatrolPlan",
    "PatrolPlanMember",
    "PatrolRoute",
    "RefreshToken",
    "RollupDay",
    "Site",
    "Station",
    "TeamAssignment",
    "Training",
    "TrainingAttendance",
    "TrainingAudience",
    "Unavailability",
    "User",
    "UserSite",
    "Volunteer",
    "VolunteerImport",
    "VolunteerStatusChange",
    "metadata",
]
