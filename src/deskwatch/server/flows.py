"""Work across domains: the one place where a change in one domain writes another's tables.

A worker switched off (or no longer an agent) has their devices revoked; an erasure
request marked done deletes what monitoring recorded about the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from deskwatch.server.audit.service import record
from deskwatch.server.devices.service import revoke_all
from deskwatch.server.live import Changes
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import (
    KEEP,
    USER_CHANGED,
    Keep,
    follow_user_change,
    set_user_fields,
    working_agent,
)


def change_user(
    session: Session,
    *,
    actor: User,
    user_id: int,
    now: datetime,
    changes: Changes,
    role: Role | Keep = KEEP,
    team_id: int | Keep | None = KEEP,
    active: bool | Keep = KEEP,
) -> dict[str, list[Any]]:
    """An admin changes a user's role, team or whether they may sign in (audited, what
    changed as ``[old, new]``; every server process forgets what it cached of the user once
    committed). Someone who stops being an agent at work has every device revoked; a
    supervisor who stops being one supervises no team; a moved agent's revision grows so
    that their PC fetches the new team's policy and settings."""
    user, changed = set_user_fields(
        session, actor=actor, user_id=user_id, role=role, team_id=team_id, active=active
    )
    if not changed:
        return changed
    follow_user_change(session, user=user, changed=changed)
    stopped = working_agent(user, before=changed) and not working_agent(user)
    if stopped and (ids := revoke_all(session, agent_id=user.id, now=now)):
        changed["devices_revoked"] = ids
    detail = {k: [v.value if isinstance(v, Role) else v for v in vs] for k, vs in changed.items()}
    record(
        session, actor=actor, action=USER_CHANGED, subject=f"user:{user.id}", now=now, detail=detail
    )
    changes.publish(session, agent_id=user.id)
    return changed
