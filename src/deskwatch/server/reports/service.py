"""Agent day timelines and team daily reports, from status history and events."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from deskwatch.server.audit.service import record
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.events.service import events_overlapping
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.orgs.service import (
    OVERSEERS,
    agent_for,
    record_read,
    team_for,
    visible_agents,
)
from deskwatch.server.reports.schemas import (
    ActivityAdherence,
    AdherenceInterval,
    AdherenceState,
    AdherenceTrend,
    AgentReport,
    DayAdherence,
    TeamReport,
    Timeline,
)
from deskwatch.server.schedules.models import ScheduledActivity
from deskwatch.server.schedules.service import activities_between
from deskwatch.server.status.models import AgentStatus
from deskwatch.server.status.schemas import STATUSES
from deskwatch.server.status.schemas import StatusPeriod as Segment
from deskwatch.server.status.service import board, changes_between

# Only these events count in reports (GDPR Art. 22): never reviewed, or confirmed by a person.
# A reviewed type waits as "pending"; any event a worker disputes goes back to "pending";
# a rejected one never counts.
COUNTED = frozenset({"none", "confirmed"})
# Statuses the agent reports while such an event is open: where a reviewer rejected the
# event, its time counts as at desk in adherence (the detector was wrong about it).
STATUS_OF_EVENT = {"away": "away", "camera_obstructed": "camera_problem"}
TREND_DAYS = 14  # the adherence trend's default length
MAX_TREND_DAYS = 31
# Statuses in adherence during an activity at the desk (the rest are out of adherence).
IN_ADHERENCE = frozenset({"at_desk", "online"})


def day_bounds(day: date, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The day from its midnight to the next in ``zone`` (23 or 25 h across a clock
    change), as UTC times."""
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


def segments(
    session: Session,
    *,
    agent_id: int,
    day: date,
    now: datetime,
    offline_after_s: float,
    zone: tzinfo = UTC,
) -> list[Segment]:
    """The day cut into status periods; before the first heartbeat and after silence: offline
    (an agent silent since an earlier day is offline all day, not in its last status)."""
    start, end = day_bounds(day, zone)
    return segments_between(
        session, agent_id=agent_id, start=start, end=end, now=now, offline_after_s=offline_after_s
    )


def segments_between(
    session: Session,
    *,
    agent_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    offline_after_s: float,
) -> list[Segment]:
    """``[start, end)`` (until ``now`` at most) cut into status periods, as ``segments``."""
    end = min(end, now)
    if end <= start:
        return []
    marks = [
        (max(c.at, start), c.status)
        for c in changes_between(session, agent_id=agent_id, start=start, end=end)
    ]
    latest = session.get(AgentStatus, agent_id)
    if latest is not None:
        silent_from = latest.last_seen_at + timedelta(seconds=offline_after_s)
        if silent_from < end:
            marks.append((max(silent_from, start), "offline"))
    if not marks or marks[0][0] > start:
        marks.insert(0, (start, "offline"))
    bounds = [m[0] for m in marks[1:]] + [end]
    out = [Segment(status=s, start=a, end=b) for (a, s), b in zip(marks, bounds, strict=True)]
    return _merge(s for s in out if s.end > s.start)


def _clip(segs: list[Segment], start: datetime, end: datetime) -> list[Segment]:
    """The parts of ``segs`` within ``[start, end)``."""
    return [
        Segment(status=s.status, start=max(s.start, start), end=min(s.end, end))
        for s in segs
        if s.end > start and s.start < end
    ]


def _merge(parts: Iterable[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for part in parts:
        if merged and merged[-1].status == part.status:
            merged[-1] = Segment(status=part.status, start=merged[-1].start, end=part.end)
        else:
            merged.append(part)
    return merged


def timeline(
    session: Session,
    *,
    agent: User,
    day: date,
    now: datetime,
    offline_after_s: float,
    zone: tzinfo = UTC,
) -> Timeline:
    start, end = day_bounds(day, zone)
    events = events_overlapping(session, agent_ids=[agent.id], start=start, end=end)
    segs = segments(
        session, agent_id=agent.id, day=day, now=now, offline_after_s=offline_after_s, zone=zone
    )
    return Timeline(
        agent_id=agent.id,
        name=agent.display_name,
        day=day,
        zone=str(zone),
        segments=segs,
        events=[EventOut.model_validate(e) for e in events],
    )


def timeline_for(
    session: Session,
    *,
    user: User,
    agent_id: int,
    day: date,
    now: datetime,
    offline_after_s: float,
    zone: tzinfo = UTC,
) -> Timeline:
    """The day of an agent ``user`` may see (NotFoundError otherwise); the read is audited."""
    agent = agent_for(session, user=user, agent_id=agent_id)
    record_read(session, reader=user, agent=agent, what="timeline", now=now)
    return timeline(
        session, agent=agent, day=day, now=now, offline_after_s=offline_after_s, zone=zone
    )


Spans = dict[str, list[tuple[datetime, datetime]]]


def team_report(
    session: Session,
    *,
    team: Team,
    agents: list[User],
    day: date,
    now: datetime,
    offline_after_s: float,
    scheduled_s: float,
    zone: tzinfo = UTC,
) -> TeamReport:
    """Adherence (time at desk ÷ scheduled time) and counts of the events that count; an
    agent with no status at all that day is "no data", left out of the team's adherence."""
    start, end = day_bounds(day, zone)
    events = events_overlapping(session, agent_ids=[a.id for a in agents], start=start, end=end)
    tally = Tally(*_tally(events, [a.id for a in agents], start=start, end=end, now=now))
    plans = activities_between(session, agent_ids=[a.id for a in agents], start=start, end=end)
    rows = []
    for agent in agents:
        segs = segments(
            session,
            agent_id=agent.id,
            day=day,
            now=now,
            offline_after_s=offline_after_s,
            zone=zone,
        )
        row = _agent_row(agent, segs, tally, scheduled_s)
        if row is not None and agent.id in plans:
            window = (start, min(end, now))
            row = _with_schedule(row, segs, plans[agent.id], tally.rejected[agent.id], window)
        if row is not None:
            rows.append(row)
    return TeamReport(
        team_id=team.id,
        team=team.name,
        day=day,
        scheduled_s=scheduled_s,
        agents=rows,
        zone=str(zone),
        adherence=_mean([a.adherence for a in rows if a.adherence is not None]),
        by_hour=_by_hour(events, start=start, zone=zone),
    )


@dataclass(frozen=True)
class Tally:
    counts: dict[int, Counter[str]]
    awaiting: Counter[int]
    rejected: dict[int, Spans]


def _agent_row(
    agent: User, segs: list[Segment], tally: Tally, scheduled_s: float
) -> AgentReport | None:
    """One agent's line; None for a switched-off agent with nothing on this day."""
    seconds, corrected = _seconds(segs, tally.rejected[agent.id])
    counted, waiting = tally.counts[agent.id], tally.awaiting[agent.id]
    if not agent.active and set(seconds) <= {"offline"} and not (counted or waiting or corrected):
        return None
    no_data = all(s.status == "offline" for s in segs)
    return AgentReport(
        agent_id=agent.id,
        name=agent.display_name,
        seconds={} if no_data else {k: round(v, 1) for k, v in seconds.items()},
        adherence=None if no_data else _adherence(seconds, scheduled_s),
        events=dict(counted),
        awaiting_review=waiting,
        corrected_s=round(corrected, 1),
        no_data=no_data,
    )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _by_hour(events: list[EventRecord], *, start: datetime, zone: tzinfo) -> dict[str, list[int]]:
    """The day's counted events by type and by the hour (in ``zone``) they started."""
    out: dict[str, list[int]] = {}
    for event in events:
        if event.started_at >= start and event.review in COUNTED:
            hour = event.started_at.astimezone(zone).hour
            out.setdefault(event.type, [0] * 24)[hour] += 1
    return dict(sorted(out.items()))


def _tally(
    events: list[EventRecord],
    agent_ids: list[int],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> tuple[dict[int, Counter[str]], Counter[int], dict[int, Spans]]:
    """Per agent: the day's counted events by type, how many await review, and the spans of
    rejected events by the status they stood for (events from the day before add only spans)."""
    counts: dict[int, Counter[str]] = {a: Counter() for a in agent_ids}
    awaiting: Counter[int] = Counter()
    rejected: dict[int, Spans] = {a: {} for a in agent_ids}
    for event in events:
        if event.review == "rejected":
            if event.type in STATUS_OF_EVENT:
                span = (event.started_at, event.ended_at or min(end, now))
                rejected[event.agent_id].setdefault(STATUS_OF_EVENT[event.type], []).append(span)
        elif event.started_at < start:
            continue  # counted on the day it started
        elif event.review in COUNTED:
            counts[event.agent_id][event.type] += 1
        elif event.review == "pending":
            awaiting[event.agent_id] += 1
    return counts, awaiting, rejected


def _seconds(segs: list[Segment], rejected: Spans) -> tuple[dict[str, float], float]:
    """Seconds per status, with the time of rejected events moved to at desk; and how many
    seconds were moved."""
    seconds: dict[str, float] = {}
    moved_total = 0.0
    for seg in segs:
        spans = _union(rejected.get(seg.status, []))
        moved = sum(
            max(0.0, (min(b, seg.end) - max(a, seg.start)).total_seconds()) for a, b in spans
        )
        seconds[seg.status] = seconds.get(seg.status, 0.0) + seg.seconds - moved
        if moved:
            seconds["at_desk"] = seconds.get("at_desk", 0.0) + moved
            moved_total += moved
    return seconds, moved_total


def _union(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping spans merged, so no second is moved twice."""
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        elif b > a:
            out.append((a, b))
    return out


def team_agents(
    session: Session, *, user: User, team_id: int, now: datetime
) -> tuple[Team, list[User]]:
    """A team ``user`` may see (NotFoundError otherwise) and its agents; the read is audited."""
    team = team_for(session, user=user, team_id=team_id)
    agents = [a for a in visible_agents(session, user=user) if a.team_id == team_id]
    if user.role in OVERSEERS:
        record(session, actor=user, action="read:report", subject=f"team:{team_id}", now=now)
    return team, agents


def report_for(
    session: Session,
    *,
    user: User,
    team_id: int,
    day: date,
    now: datetime,
    offline_after_s: float,
    scheduled_s: float,
    zone: tzinfo = UTC,
) -> TeamReport:
    """The report of a team ``user`` may see (NotFoundError otherwise); the read is audited."""
    team, agents = team_agents(session, user=user, team_id=team_id, now=now)
    return team_report(
        session,
        team=team,
        agents=agents,
        day=day,
        now=now,
        offline_after_s=offline_after_s,
        scheduled_s=scheduled_s,
        zone=zone,
    )


def adherence_trend(
    session: Session,
    *,
    team: Team,
    agents: list[User],
    last_day: date,
    days: int,
    now: datetime,
    offline_after_s: float,
    scheduled_s: float,
    zone: tzinfo = UTC,
) -> AdherenceTrend:
    """The team's adherence on each of the ``days`` days (at most ``MAX_TREND_DAYS``) up to
    ``last_day``, as each day's report has it: the same status history and events, read
    once for the whole span and cut into days."""
    days = max(1, min(days, MAX_TREND_DAYS))
    first = last_day - timedelta(days=days - 1)
    start, end = day_bounds(first, zone)[0], day_bounds(last_day, zone)[1]
    ids = [a.id for a in agents]
    events = events_overlapping(session, agent_ids=ids, start=start, end=end)
    plans = activities_between(session, agent_ids=ids, start=start, end=end)
    history = {
        a.id: segments_between(
            session, agent_id=a.id, start=start, end=end, now=now, offline_after_s=offline_after_s
        )
        for a in agents
    }
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        a, b = day_bounds(day, zone)
        before_end = [e for e in events if e.started_at < b]
        tally = Tally(*_tally(before_end, ids, start=a, end=b, now=now))
        window = (a, min(b, now))
        rows = [_day_row(x, history[x.id], tally, scheduled_s, plans, window) for x in agents]
        measured = [r.adherence for r in rows if r is not None and r.adherence is not None]
        out.append(DayAdherence(day=day, adherence=_mean(measured), measured=len(measured)))
    return AdherenceTrend(team_id=team.id, zone=str(zone), days=out)


def _day_row(
    agent: User,
    history: list[Segment],
    tally: Tally,
    scheduled_s: float,
    plans: dict[int, list[ScheduledActivity]],
    window: tuple[datetime, datetime],
) -> AgentReport | None:
    """An agent's line for one day of a trend (``window``: the day, until now)."""
    segs = _clip(history, *window)
    row = _agent_row(agent, segs, tally, scheduled_s)
    day_plan = [p for p in plans.get(agent.id, []) if p.start < window[1] and p.end > window[0]]
    if row is None or not day_plan:
        return row
    return _with_schedule(row, segs, day_plan, tally.rejected[agent.id], window)


def _with_schedule(
    row: AgentReport,
    segs: list[Segment],
    plan: list[ScheduledActivity],
    rejected: Spans,
    window: tuple[datetime, datetime],
) -> AgentReport:
    """The line with its scheduled time and adherence from the agent's schedule: time in
    adherence ÷ time scheduled at the desk so far. Nothing scheduled at the desk (a day
    off, a day of training): adherence None, never an absence."""
    acts = activity_adherence(segs, plan, rejected, window)
    at_desk = [a for a in acts if a.at_desk_expected]
    scheduled = sum(a.scheduled_s for a in at_desk)
    kept = sum(a.in_s for a in at_desk)
    adherence = round(min(1.0, kept / scheduled), 4) if scheduled else None
    return row.model_copy(
        update={"scheduled_s": round(scheduled, 1), "activities": acts, "adherence": adherence}
    )


def activity_adherence(
    segs: list[Segment],
    plan: Iterable[ScheduledActivity],
    rejected: Spans,
    window: tuple[datetime, datetime],
) -> list[ActivityAdherence]:
    """Minutes in and out of adherence per scheduled activity, within ``window`` (the day,
    until now); time of rejected away / obstruction events counts as at desk."""
    out = []
    for act in plan:
        start, end = max(act.start, window[0]), min(act.end, window[1])
        if end <= start:
            continue
        seconds, _ = _seconds(_clip(segs, start, end), rejected)
        total = (end - start).total_seconds()
        kept = sum(seconds.get(s, 0.0) for s in IN_ADHERENCE)
        expected = act.at_desk_expected
        out.append(
            ActivityAdherence(
                activity=act.activity,
                start=act.start,
                end=act.end,
                at_desk_expected=expected,
                scheduled_s=round(total, 1),
                in_s=round(kept if expected else total, 1),
                out_s=round(total - kept if expected else 0.0, 1),
                paused_s=round(seconds.get("paused", 0.0) if expected else 0.0, 1),
                worked_during_break_s=0.0 if expected else round(seconds.get("at_desk", 0.0), 1),
            )
        )
    return out


def trend_for(
    session: Session,
    *,
    user: User,
    team_id: int,
    last_day: date,
    days: int,
    now: datetime,
    offline_after_s: float,
    scheduled_s: float,
    zone: tzinfo = UTC,
) -> AdherenceTrend:
    """The adherence trend of a team ``user`` may see; the read is audited."""
    team, agents = team_agents(session, user=user, team_id=team_id, now=now)
    return adherence_trend(
        session,
        team=team,
        agents=agents,
        last_day=last_day,
        days=days,
        now=now,
        offline_after_s=offline_after_s,
        scheduled_s=scheduled_s,
        zone=zone,
    )


EVENT_COLUMNS = [
    "id",
    "agent_id",
    "type",
    "started_at",
    "ended_at",
    "duration_s",
    "peak_confidence",
    "review",  # none | pending | confirmed | rejected: only none and confirmed count
    "disputed",
]


def events_csv(events: Iterable[EventRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EVENT_COLUMNS)
    for e in events:
        writer.writerow([getattr(e, c) for c in EVENT_COLUMNS])
    return buffer.getvalue()


def _adherence(seconds: dict[str, float], scheduled_s: float) -> float | None:
    """Time at desk ÷ scheduled time; None where presence was not monitored that day (only
    "online": attendance off for the worker)."""
    if seconds.get("online") and not (seconds.get("at_desk") or seconds.get("away")):
        return None
    return round(min(1.0, seconds.get("at_desk", 0.0) / scheduled_s), 4) if scheduled_s else 0.0


def report_csv(report: TeamReport) -> str:
    types = sorted({t for a in report.agents for t in a.events})
    statuses = STATUSES
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    head = ["agent_id", "name", "adherence", *[f"{s}_s" for s in statuses]]
    tail = ["scheduled_s", "in_adherence_s", "out_of_adherence_s", "paused_s"]
    writer.writerow([*head, "corrected_s", "awaiting_review", *types, "no_data", *tail])
    for a in report.agents:
        writer.writerow(
            [
                a.agent_id,
                a.name,
                "" if a.adherence is None else a.adherence,
                *[a.seconds.get(s, 0.0) for s in statuses],
                a.corrected_s,
                a.awaiting_review,
                *[a.events.get(t, 0) for t in types],
                a.no_data,
                *_schedule_cells(a, report.scheduled_s),
            ]
        )
    return buffer.getvalue()


def _schedule_cells(row: AgentReport, flat_s: float) -> list[float]:
    """Scheduled time (the agent's schedule, else the flat day) and, from the schedule,
    seconds in and out of adherence and paused during activities at the desk."""
    at_desk = [a for a in row.activities if a.at_desk_expected]
    scheduled = flat_s if row.scheduled_s is None else row.scheduled_s
    return [
        scheduled,
        round(sum(a.in_s for a in at_desk), 1),
        round(sum(a.out_s for a in at_desk), 1),
        round(sum(a.paused_s for a in at_desk), 1),
    ]


INTERVAL_COLUMNS = [
    "agent_id",
    "username",
    "interval_start",
    "interval_min",
    "scheduled_activity",
    *[f"{s}_s" for s in STATUSES],
    "in_adherence_s",
    "out_of_adherence_s",
]


def intervals(
    session: Session,
    *,
    agents: list[User],
    day: date,
    now: datetime,
    offline_after_s: float,
    interval_min: int = 15,
    zone: tzinfo = UTC,
) -> list[AdherenceInterval]:
    """Each agent's day in ``interval_min`` intervals (until now): seconds per status, and
    in and out of adherence against the schedule. Intervals with nothing scheduled and
    nothing but offline are left out (a WFM tool reads them as nothing to report)."""
    start, end = day_bounds(day, zone)
    ids = [a.id for a in agents]
    events = events_overlapping(session, agent_ids=ids, start=start, end=end)
    rejected = _tally(events, ids, start=start, end=end, now=now)[2]
    plans = activities_between(session, agent_ids=ids, start=start, end=end)
    step = timedelta(minutes=interval_min)
    out: list[AdherenceInterval] = []
    for agent in agents:
        limit_s = offline_after_s
        segs = segments_between(
            session, agent_id=agent.id, start=start, end=end, now=now, offline_after_s=limit_s
        )
        at = start
        while at < min(end, now):
            window = (at, min(at + step, end, now))
            row = _interval(agent, segs, plans.get(agent.id, []), rejected[agent.id], window)
            if row is not None:
                out.append(row.model_copy(update={"interval_min": interval_min}))
            at += step
    return out


def _interval(
    agent: User,
    segs: list[Segment],
    plan: list[ScheduledActivity],
    rejected: Spans,
    window: tuple[datetime, datetime],
) -> AdherenceInterval | None:
    seconds, _ = _seconds(_clip(segs, *window), rejected)
    acts = activity_adherence(segs, plan, rejected, window)
    if not acts and set(seconds) <= {"offline"}:
        return None
    main = max(acts, key=lambda a: a.scheduled_s, default=None)
    return AdherenceInterval(
        agent_id=agent.id,
        username=agent.username,
        interval_start=window[0],
        interval_min=0,
        scheduled_activity=None if main is None else main.activity,
        seconds={k: round(v, 1) for k, v in seconds.items() if v},
        in_adherence_s=round(sum(a.in_s for a in acts), 1),
        out_of_adherence_s=round(sum(a.out_s for a in acts), 1),
    )


def intervals_csv(rows: Iterable[AdherenceInterval]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(INTERVAL_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.agent_id,
                r.username,
                r.interval_start.isoformat(),
                r.interval_min,
                r.scheduled_activity or "",
                *[r.seconds.get(s, 0.0) for s in STATUSES],
                r.in_adherence_s,
                r.out_of_adherence_s,
            ]
        )
    return buffer.getvalue()


def adherence_states(
    session: Session, *, agents: Select[int], now: datetime, offline_after_s: float
) -> list[AdherenceState]:
    """Each agent's state now (as the board has it), their scheduled activity now and
    whether that state is in adherence (None: nothing scheduled now)."""
    rows = board(session, agents=agents, now=now, offline_after_s=offline_after_s)
    query = select(User.id, User.username).where(User.id.in_(agents.scalar_subquery()))
    names = {agent_id: username for agent_id, username in session.execute(query)}
    out = []
    for row in rows:
        expected = row["expected_at_desk"]
        in_adherence = None if expected is None else (not expected or row["status"] in IN_ADHERENCE)
        out.append(
            AdherenceState(
                agent_id=row["agent_id"],
                username=names.get(row["agent_id"], ""),
                state=row["status"],
                since=row["since"],
                scheduled_activity=row["scheduled_activity"],
                in_adherence=in_adherence,
            )
        )
    return out
