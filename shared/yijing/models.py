"""Every table, imported in one place so that ``SQLModel.metadata`` is complete for migrations and tests.
A new domain adds its models module here."""

from sqlmodel import SQLModel

from yijing.jobs.models import JobRun
from yijing.outbox.models import OutboxMessage
from yijing.system.models import Heartbeat

metadata = SQLModel.metadata

__all__ = ["Heartbeat", "JobRun", "OutboxMessage", "metadata"]
