"""The retention purge: monitoring data past its category's retention, expired snapshots,
old status history and schedules, password re-confirmations past the identity retention,
closed requests
and (after its own, longer, retention) the audit log.

Deletes are set-based, a few statements per team; comments and snapshots of purged events
are deleted explicitly before their events. ``Purger`` runs it on a schedule in the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Delete, and_, delete, false, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.privacy.categories import CATEGORIES
from deskwatch.server.audit.service import PRUNED, prunable, prune_through, record
from deskwatch.server.auth.service import forget_throttles
from deskwatch.server.auth.sessions import end_expired, timeouts_of
from deskwatch.server.events.models import EventRecord
from deskwatch.server.identity.models import IdentityCheck
from deskwatch.server.integrations.delivery import deliver_once
from deskwatch.server.integrations.models import OutboxRow
from deskwatch.server.ops.metrics import PURGE_RUNS, PURGED_ROWS
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.periodic import Periodic
from deskwatch.server.privacy.models import CategorySetting
from deskwatch.server.privacy.service import team_categories
from deskwatch.server.requests.models import DataRequest
from deskwatch.server.reviews.models import EventComment
from deskwatch.server.schedules.models import ScheduledActivity
from deskwatch.server.settings import Settings
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.status.models import StatusChange

log = logging.getLogger(__name__)
CATEGORISED = sorted({t for c in CATEGORIES.values() for t in c.event_types})
CLOSED = ("done", "refused")


@dataclass(frozen=True)
class PurgeResult:
    """Rows deleted per table."""

    events: int = 0
    comments: int = 0
    snapshots: int = 0
    status_changes: int = 0
    identity_checks: int = 0
    scheduled_activities: int = 0
    undelivered: int = 0
    data_requests: int = 0
    audit_entries: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def counts(self) -> dict[str, int]:
        return asdict(self)

    def __add__(self, other: PurgeResult) -> PurgeResult:
        return PurgeResult(**{k: v + getattr(other, k) for k, v in self.counts().items()})


def purge(
    session: Session,
    *,
    now: datetime,
    audit_retention_days: int,
    uncategorised_days: int = 30,
    request_retention_days: int = 1095,
    undelivered_days: int = 30,
) -> PurgeResult:
    """Delete everything past its retention; if anything went, record one audit entry with
    the counts (``audit:pruned``, anchoring the chain's new start, when the log was pruned)."""
    totals = PurgeResult()
    for team_id in [None, *session.scalars(select(Team.id))]:
        team = _purge_team(session, team_id=team_id, now=now, other_days=uncategorised_days)
        totals += team
    expired = _run(session, delete(Snapshot).where(Snapshot.expires_at <= now))
    requests = _run(
        session,
        delete(DataRequest).where(
            DataRequest.status.in_(CLOSED),
            DataRequest.updated_at < now - timedelta(days=request_retention_days),
        ),
    )
    # What an integration never delivered (a dead letter no admin replayed) holds what the
    # board shows of a worker: it does not outlive its use.
    undelivered = _run(
        session,
        delete(OutboxRow).where(OutboxRow.created_at < now - timedelta(days=undelivered_days)),
    )
    result = totals + PurgeResult(
        snapshots=expired, data_requests=requests, undelivered=undelivered
    )
    _warn_if_outlived(session, audit_retention_days)
    return _record(session, result, now=now, before=now - timedelta(days=audit_retention_days))


def _purge_team(
    session: Session, *, team_id: int | None, now: datetime, other_days: int
) -> PurgeResult:
    """Comments, snapshots, events, status changes and re-confirmations of one team's agents
    past their retention."""
    views = team_categories(session, team_id=team_id)
    agents = select(User.id).where(
        User.team_id.is_(None) if team_id is None else User.team_id == team_id
    )
    by_days: dict[int, list[str]] = {}
    for view in views:
        by_days.setdefault(view.retention_days, []).extend(view.event_types)
    expired: list[ColumnElement[bool]] = [
        and_(EventRecord.type.in_(types), EventRecord.started_at < now - timedelta(days=days))
        for days, types in by_days.items()
    ]
    expired.append(
        and_(
            EventRecord.type.not_in(CATEGORISED),
            EventRecord.started_at < now - timedelta(days=other_days),
        )
    )
    where = and_(EventRecord.agent_id.in_(agents), or_(false(), *expired))
    old_events = select(EventRecord.id).where(where)
    days = {v.key: v.retention_days for v in views}
    return PurgeResult(
        comments=_run(session, delete(EventComment).where(EventComment.event_id.in_(old_events))),
        snapshots=_run(session, delete(Snapshot).where(Snapshot.event_id.in_(old_events))),
        events=_run(session, delete(EventRecord).where(where)),
        status_changes=_run(
            session,
            delete(StatusChange).where(
                StatusChange.agent_id.in_(agents),
                StatusChange.at < now - timedelta(days=days["attendance"]),
            ),
        ),
        identity_checks=_run(
            session,
            delete(IdentityCheck).where(
                IdentityCheck.agent_id.in_(agents),
                IdentityCheck.at < now - timedelta(days=days["identity"]),
            ),
        ),
        # A schedule serves only to measure adherence against the status history: it goes
        # with the attendance data it is measured against.
        scheduled_activities=_run(
            session,
            delete(ScheduledActivity).where(
                ScheduledActivity.agent_id.in_(agents),
                ScheduledActivity.end < now - timedelta(days=days["attendance"]),
            ),
        ),
    )


def _warn_if_outlived(session: Session, audit_days: int) -> None:
    """Categories set (before the audit retention was lowered) to outlive the audit log."""
    query = select(CategorySetting.team_id, CategorySetting.category).where(
        CategorySetting.retention_days > audit_days
    )
    for team_id, key in session.execute(query):
        log.warning(
            "team %s keeps %s data longer than the audit log (%d days): lower its retention",
            team_id,
            key,
            audit_days,
        )


def _run(session: Session, stmt: Delete) -> int:
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0))


def _record(
    session: Session, result: PurgeResult, *, now: datetime, before: datetime
) -> PurgeResult:
    """The purge's one audit entry; audit entries older than ``before`` go after it."""
    old, anchor = prunable(session, before=before)
    result = PurgeResult(**{**result.counts(), "audit_entries": old})
    if not result.total:
        return result
    detail: dict[str, object] = {**result.counts(), **anchor}
    action = PRUNED if old else "retention:purged"
    record(session, actor=None, action=action, subject="retention", now=now, detail=detail)
    if old:
        prune_through(session, through_id=int(anchor["through_id"]))
    return result


def purge_once(
    sessions: sessionmaker[Session], *, now: datetime, settings: Settings
) -> PurgeResult | None:
    """One purge in its own transaction; None when another process is purging (PostgreSQL)."""
    with sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            got = session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext('dw_purge'))"))
            if not got:
                return None
        # Timed-out sessions and stale login throttles: housekeeping, not personal data
        # past a retention (nothing to audit).
        end_expired(session, now=now, timeouts=timeouts_of(settings))
        forget_throttles(session, now=now)
        return purge(
            session,
            now=now,
            audit_retention_days=settings.audit_retention_days,
            uncategorised_days=settings.uncategorised_retention_days,
            request_retention_days=settings.request_retention_days,
            undelivered_days=settings.undelivered_retention_days,
        )


# A server restarted more often than PURGE_EVERY_S still purges: the first run comes soon
# after the start (the others take the advisory lock in turn on PostgreSQL).
FIRST_PURGE_AFTER_S = 60.0


def purger(
    sessions: sessionmaker[Session], settings: Settings, clock: Callable[[], datetime]
) -> Periodic:
    """The scheduled purge: every ``settings.purge_every_s`` seconds (0: never), the first
    one ``FIRST_PURGE_AFTER_S`` after start; a failed purge is logged and retried."""

    def work() -> None:
        try:
            result = purge_once(sessions, now=clock(), settings=settings)
        except Exception:
            PURGE_RUNS.labels(outcome="failed").inc()
            raise
        PURGE_RUNS.labels(outcome="skipped" if result is None else "done").inc()
        if result is not None and result.total:
            PURGED_ROWS.inc(result.total)
            log.info("retention purge: %s", result.counts())

    every = settings.purge_every_s
    return Periodic("deskwatch-purge", every, work, first_after_s=FIRST_PURGE_AFTER_S)


def deliverer(
    sessions: sessionmaker[Session], settings: Settings, clock: Callable[[], datetime]
) -> Periodic:
    """Integrations' outbox sent every ``settings.integrations_every_s`` seconds (0: never);
    each run sends what is due (``integrations.delivery``)."""

    def work() -> None:
        result = deliver_once(sessions, now=clock(), signing_key=settings.signing_key())
        if result.failed:
            log.info("integrations: %s", result.model_dump())

    return Periodic("deskwatch-integrations", settings.integrations_every_s, work)
