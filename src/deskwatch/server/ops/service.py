"""What the probes and a scrape read from the database: one short query each."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.service import record
from deskwatch.server.migrate import alembic_config
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.settings import Settings
from deskwatch.server.status.models import AgentStatus
from deskwatch.server.status.schemas import STATUSES


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration this server ships (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def not_ready(session: Session) -> str | None:
    """Why the database cannot serve this server yet (None: it answers and is migrated)."""
    try:
        current = session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # unreachable, or never migrated
        session.rollback()
        kind = type(getattr(exc, "orig", None) or exc).__name__
        return f"database unavailable ({kind})"
    if current != head_revision():
        return f"database at migration {current}, this server needs {head_revision()}"
    return None


def agents_by_state(session: Session, *, now: datetime, offline_after_s: float) -> dict[str, int]:
    """How many agents who may sign in are in each board status now (offline derived from
    the last heartbeat, as on the board): one grouped query."""
    silence = now - timedelta(seconds=offline_after_s)
    state = case(
        (AgentStatus.last_seen_at.is_(None), "offline"),
        (AgentStatus.last_seen_at < silence, "offline"),
        else_=AgentStatus.status,
    )
    query = (
        select(state, func.count())
        .select_from(User)
        .outerjoin(AgentStatus, AgentStatus.agent_id == User.id)
        .where(User.role == Role.AGENT, User.active.is_(True))
        .group_by(state)
    )
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for name, count in session.execute(query):
        counts[str(name)] = counts.get(str(name), 0) + int(count)
    return counts


CONFIGURATION = "config:integrations"


def configuration_of(settings: Settings) -> dict[str, object]:
    """The integrations an IT admin sets in the environment, without their secrets."""
    return {
        "metrics": settings.metrics_enabled,
        "sso_issuer": urlsplit(settings.oidc_issuer).hostname or "",
        "local_login": settings.local_login,
        "log_format": settings.log_format,
    }


def note_configuration(session: Session, *, settings: Settings, now: datetime) -> bool:
    """Audit the environment's integrations when they differ from the last ones recorded,
    so switching metrics or single sign-on on or off is in the audit log like any change."""
    current = configuration_of(settings)
    last = session.scalar(
        select(AuditEntry.detail)
        .where(AuditEntry.action == CONFIGURATION)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    if last == current:
        return False
    record(session, actor=None, action=CONFIGURATION, subject="server", now=now, detail=current)
    return True
