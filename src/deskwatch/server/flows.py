"""Work across domains: the one place where a change in one domain writes another's tables.

A user switched off, or given a new password, has every login session ended; a worker
switched off (or no longer an agent) has their devices revoked; an erasure
request marked done deletes what monitoring recorded about the worker; a stored security
event is queued for the integrations that want it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from deskwatch.server.audit.service import record
from deskwatch.server.auth.sessions import end_all
from deskwatch.server.devices.models import Device
from deskwatch.server.devices.service import revoke_all
from deskwatch.server.errors import NotFoundError
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import DeviceEvent, IngestResult
from deskwatch.server.events.service import ingest
from deskwatch.server.identity.models import IdentityCheck
from deskwatch.server.integrations import service as integrations
from deskwatch.server.live import Changes
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import (
    KEEP,
    USER_CHANGED,
    Keep,
    check_admin,
    follow_user_change,
    set_password,
    set_user_fields,
    via,
    working_agent,
)
from deskwatch.server.requests.models import DataRequest
from deskwatch.server.requests.schemas import RequestUpdate
from deskwatch.server.requests.service import move_request, record_move
from deskwatch.server.reviews.models import EventComment
from deskwatch.server.schedules.models import ScheduledActivity
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.status.models import AgentStatus, StatusChange


def ingest_events(
    session: Session,
    *,
    device: Device,
    events: Sequence[DeviceEvent],
    now: datetime,
    future_skew_s: float,
) -> IngestResult:
    """Store a device's batch; the security events it stored new or ended are queued, in
    the same transaction, for every enabled integration that wants them (at least once)."""
    watch = integrations.watch_events(session, events=events)
    result = ingest(session, device=device, events=events, now=now, future_skew_s=future_skew_s)
    if watch is not None and (result.new or result.updated):
        integrations.enqueue_events(session, watch=watch, agent_id=device.agent_id, now=now)
    return result


def change_user(
    session: Session,
    *,
    actor: User | None,
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
    that their PC fetches the new team's policy and settings. ``actor`` None: the command
    line, whose entry says so (``"via": "cli"``) and how many sessions a switch-off ended
    (returned as ``sessions_ended``)."""
    user, changed = set_user_fields(
        session, actor=actor, user_id=user_id, role=role, team_id=team_id, active=active
    )
    if not changed:
        return changed
    follow_user_change(session, user=user, changed=changed)
    stopped = working_agent(user, before=changed) and not working_agent(user)
    if stopped and (ids := revoke_all(session, agent_id=user.id, now=now)):
        changed["devices_revoked"] = ids
    if changed.get("active") == [True, False]:
        ended = end_all(session, user_id=user.id)  # switched back on later, they sign in afresh
        if actor is None:
            changed["sessions_ended"] = [ended]
    detail: dict[str, Any] = {
        k: [v.value if isinstance(v, Role) else v for v in vs] for k, vs in changed.items()
    }
    subject = f"user:{user.id}"
    detail |= via(actor)
    record(session, actor=actor, action=USER_CHANGED, subject=subject, now=now, detail=detail)
    changes.publish(session, agent_id=user.id)
    return changed


def change_password(session: Session, *, user: User, password: str, now: datetime) -> None:
    """A user's new password: every one of their sessions ends, everywhere (audited)."""
    set_password(session, user=user, password=password)
    ended = end_all(session, user_id=user.id)
    subject = f"user:{user.id}"
    record(
        session,
        actor=user,
        action="auth:password_changed",
        subject=subject,
        now=now,
        detail={"sessions_ended": ended},
    )


def reset_password(
    session: Session, *, admin: User | None, user_id: int, password: str, now: datetime
) -> int:
    """An admin gives a user a new password: every one of the user's sessions ends, the
    admin's own too when resetting their own (audited as ``auth:password_reset`` by the
    admin; ``admin`` None: by the command line). The number of sessions ended."""
    if admin is not None:
        check_admin(session, actor=admin, what="reset passwords")
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    set_password(session, user=user, password=password)
    ended = end_all(session, user_id=user.id)
    record(
        session,
        actor=admin,
        action="auth:password_reset",
        subject=f"user:{user.id}",
        now=now,
        detail={"sessions_ended": ended} | via(admin),
    )
    return ended


def update_request(
    session: Session, *, request_id: int, change: RequestUpdate, officer: User, now: datetime
) -> DataRequest:
    """Move a request on; an erasure marked done erases the worker's monitoring data."""
    row = move_request(session, request_id=request_id, change=change, officer=officer, now=now)
    erased = (
        erase(session, agent_id=row.agent_id)
        if row.kind == "erasure" and change.status == "done"
        else {}
    )
    record_move(session, row=row, officer=officer, now=now, detail=erased)
    return row


def erase(session: Session, *, agent_id: int) -> dict[str, int]:
    """Delete everything monitoring recorded about a worker: events with their comments and
    stills, status history and current status, password re-confirmations, their imported
    schedule, when their devices were last seen, and what integrations had not yet
    delivered about them. Kept:
    the account, objections (deleting them would switch monitoring back on), requests, the
    device registry (which PC may send, and revoking it) and the audit log (the record of
    who did what, with its own retention). Counts per table."""
    events = select(EventRecord.id).where(EventRecord.agent_id == agent_id).scalar_subquery()
    counts = {}
    for name, stmt in (
        ("comments", delete(EventComment).where(EventComment.event_id.in_(events))),
        ("snapshots", delete(Snapshot).where(Snapshot.agent_id == agent_id)),
        ("events", delete(EventRecord).where(EventRecord.agent_id == agent_id)),
        ("status_changes", delete(StatusChange).where(StatusChange.agent_id == agent_id)),
        ("status", delete(AgentStatus).where(AgentStatus.agent_id == agent_id)),
        ("identity_checks", delete(IdentityCheck).where(IdentityCheck.agent_id == agent_id)),
        (
            "scheduled_activities",
            delete(ScheduledActivity).where(ScheduledActivity.agent_id == agent_id),
        ),
        ("integration_deliveries", integrations.forget_agent(agent_id=agent_id)),
        (
            "devices_last_seen",
            update(Device).where(Device.agent_id == agent_id).values(last_seen_at=None),
        ),
    ):
        result = session.execute(stmt.execution_options(synchronize_session=False))
        counts[name] = int(getattr(result, "rowcount", 0))
    return counts
