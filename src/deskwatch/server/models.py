"""Every table, imported in one place for Alembic and ``create_all``."""

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.auth.models import LoginSession, LoginThrottle
from deskwatch.server.db import Base
from deskwatch.server.devices.models import Device, EnrolmentCode
from deskwatch.server.events.models import EventRecord
from deskwatch.server.identity.models import IdentityCheck
from deskwatch.server.integrations.models import OutboxRow, Sink
from deskwatch.server.orgs.models import Role, Site, Team, User, team_supervisors
from deskwatch.server.policies.models import PolicyVersion
from deskwatch.server.privacy.models import CategorySetting, Objection
from deskwatch.server.requests.models import DataRequest
from deskwatch.server.reviews.models import EventComment
from deskwatch.server.schedules.models import ScheduledActivity, WfmToken
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.status.models import AgentStatus, StatusChange

__all__ = [
    "AgentStatus",
    "AuditEntry",
    "Base",
    "CategorySetting",
    "DataRequest",
    "Device",
    "EnrolmentCode",
    "EventComment",
    "EventRecord",
    "IdentityCheck",
    "LoginSession",
    "LoginThrottle",
    "Objection",
    "OutboxRow",
    "PolicyVersion",
    "Role",
    "ScheduledActivity",
    "Sink",
    "Site",
    "Snapshot",
    "StatusChange",
    "Team",
    "User",
    "WfmToken",
    "team_supervisors",
]
