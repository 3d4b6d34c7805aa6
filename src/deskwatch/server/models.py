"""Every table, imported in one place for Alembic and ``create_all``."""

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.db import Base
from deskwatch.server.devices.models import Device, EnrolmentCode
from deskwatch.server.events.models import EventRecord
from deskwatch.server.orgs.models import Role, Site, Team, User, team_supervisors
from deskwatch.server.policies.models import PolicyVersion
from deskwatch.server.status.models import AgentStatus, StatusChange

__all__ = [
    "AgentStatus",
    "AuditEntry",
    "Base",
    "Device",
    "EnrolmentCode",
    "EventRecord",
    "PolicyVersion",
    "Role",
    "Site",
    "StatusChange",
    "Team",
    "User",
    "team_supervisors",
]
