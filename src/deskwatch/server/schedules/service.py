"""Schedule imports (JSON rows and WFM CSV exports), schedule reads, and WFM tokens.

An import is all or nothing: every row is checked first and any problem is answered with
the rows' numbers in words. Re-importing replaces, per agent, the activities that overlap
the imported rows' span: importing the same file twice leaves the same schedule.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session

from deskwatch.server.audit.service import record
from deskwatch.server.errors import InvalidError, NotFoundError
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import visible_team_ids
from deskwatch.server.schedules.models import ScheduledActivity, WfmToken
from deskwatch.server.schedules.schemas import (
    MAX_ROWS,
    ImportResult,
    ScheduleRow,
    Source,
    expected_at_desk,
)
from deskwatch.server.security import new_token, token_hash

SHOWN_ERRORS = 20  # problems listed in one answer; the rest are counted
LOCAL_COLUMNS = ("agent", "date", "start", "end", "activity")
ISO_COLUMNS = ("agent", "start", "end", "activity")
TRUE_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True, slots=True)
class Numbered:
    """A valid row and its number in the upload (JSON: from 1; CSV: the file's line)."""

    number: int
    row: ScheduleRow


def _refuse(problems: list[str]) -> InvalidError:
    shown = problems[:SHOWN_ERRORS]
    more = len(problems) - len(shown)
    text = "; ".join(shown) + (f"; and {more} more problems" if more else "")
    return InvalidError(f"schedule: nothing was imported: {text}")


def _plain(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
    )


def rows_from_json(items: Sequence[Any]) -> list[Numbered]:
    """JSON rows validated one by one (InvalidError naming every bad row; none kept)."""
    if len(items) > MAX_ROWS:
        raise _refuse([f"{len(items)} rows: at most {MAX_ROWS} per import"])
    out, problems = [], []
    for n, item in enumerate(items, start=1):
        try:
            out.append(Numbered(n, ScheduleRow.model_validate(item)))
        except ValidationError as exc:
            problems.append(f"row {n}: {_plain(exc)}")
    if problems:
        raise _refuse(problems)
    return out


# Header names WFM exports commonly use for each column (compared without case, spaces,
# hyphens or underscores).
HEADER_ALIASES = {
    "agent": ("agent", "agentid", "employee", "employeeid", "login", "loginid", "username"),
    "date": ("date", "scheduledate", "day"),
    "start": ("start", "starttime", "from", "begin"),
    "end": ("end", "endtime", "to", "finish"),
    "activity": ("activity", "activityname", "activitycode", "segment", "state", "exception"),
    "at_desk_expected": ("atdeskexpected",),
}
_HEADERS = {alias: column for column, names in HEADER_ALIASES.items() for alias in names}


def _header(name: str | None) -> str:
    """A CSV header in our words: ``Start Time`` and ``start_time`` are ``start``."""
    key = "".join(ch for ch in (name or "").lower() if ch.isalnum())
    return _HEADERS.get(key, (name or "").strip().lower())


def rows_from_csv(text: str, *, zone: tzinfo = UTC) -> list[Numbered]:
    """A WFM CSV export: ``agent,date,start,end,activity`` (local times in ``zone``; an end
    before the start is on the next day) or ``agent,start,end,activity`` (ISO datetimes;
    without an offset, in ``zone``). An ``at_desk_expected`` column (yes/no) is optional;
    common WFM header names are read too (``HEADER_ALIASES``: ``Employee ID``, ``Start
    Time``…). Rows are numbered as the file's lines (the header is row 1)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {_header(c) for c in reader.fieldnames or []}
    local = set(LOCAL_COLUMNS) <= columns
    if not local and not set(ISO_COLUMNS) <= columns:
        wanted = f"{','.join(LOCAL_COLUMNS)} or {','.join(ISO_COLUMNS)}"
        raise _refuse([f"row 1: the header must name the columns {wanted}"])
    out, problems = [], []
    for raw in reader:
        n = reader.line_num
        if n - 1 > MAX_ROWS:
            raise _refuse([f"more than {MAX_ROWS} rows: at most {MAX_ROWS} per import"])
        cells = {_header(k): (v or "").strip() for k, v in raw.items() if k}
        if not any(cells.values()):
            continue
        try:
            out.append(Numbered(n, _csv_row(cells, local=local, zone=zone)))
        except (ValueError, ValidationError) as exc:
            why = _plain(exc) if isinstance(exc, ValidationError) else str(exc)
            problems.append(f"row {n}: {why}")
    if problems:
        raise _refuse(problems)
    return out


def _csv_row(cells: dict[str, str], *, local: bool, zone: tzinfo) -> ScheduleRow:
    if local:
        day = _date(cells["date"])
        start = datetime.combine(day, _time(cells["start"], "start"), tzinfo=zone)
        end = datetime.combine(day, _time(cells["end"], "end"), tzinfo=zone)
        if end < start:
            end = datetime.combine(day + timedelta(days=1), end.time(), tzinfo=zone)
    else:
        start, end = _instant(cells["start"], "start", zone), _instant(cells["end"], "end", zone)
    flag = cells.get("at_desk_expected", "").lower()
    if flag and flag not in TRUE_WORDS:
        raise ValueError(f"at_desk_expected: {flag!r} is not yes or no")
    agent: str | int = cells["agent"]
    return ScheduleRow(
        agent=agent,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        activity=cells["activity"],
        at_desk_expected=TRUE_WORDS.get(flag) if flag else None,
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date: {text!r} is not a date like 2026-11-02") from None


def _time(text: str, name: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a time like 09:00") from None


def _instant(text: str, name: str, zone: tzinfo) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        example = "2026-11-02T09:00+00:00"
        raise ValueError(f"{name}: {text!r} is not a date and time like {example}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def import_schedule(
    session: Session, *, user: User, rows: list[Numbered], source: Source, now: datetime
) -> ImportResult:
    """Check and store ``rows`` for agents ``user`` may schedule (admins: every agent;
    supervisors: their teams'), replacing each agent's activities that overlap the span of
    their imported rows. InvalidError, with row numbers, if any row is wrong: none stored."""
    agents = _resolve(session, user=user, refs={r.row.agent for r in rows})
    problems: list[str] = []
    by_agent: dict[int, list[Numbered]] = defaultdict(list)
    for item in rows:
        agent_id = agents.get(item.row.agent)
        if agent_id is None:
            problems.append(f"row {item.number}: unknown agent {str(item.row.agent)!r}")
        elif item.row.end <= item.row.start:
            problems.append(f"row {item.number}: the end is not after the start")
        else:
            by_agent[agent_id].append(item)
    problems.extend(_overlaps(by_agent))
    if problems:
        raise _refuse(sorted(problems, key=_row_number))
    batch, replaced = str(uuid.uuid4()), 0
    for agent_id, items in sorted(by_agent.items()):
        replaced += _replace(session, agent_id, items, source=source, batch=batch, now=now)
    detail = {"rows": len(rows), "agents": len(by_agent), "replaced": replaced, "source": source}
    subject = f"batch:{batch}"
    record(session, actor=user, action="import:schedule", subject=subject, now=now, detail=detail)
    return ImportResult(batch=batch, rows=len(rows), agents=len(by_agent), replaced=replaced)


def _row_number(problem: str) -> int:
    head = problem.removeprefix("row ").split(":", 1)[0].split(" ", 1)[0]
    return int(head) if head.isdigit() else 0


def _overlaps(by_agent: dict[int, list[Numbered]]) -> list[str]:
    problems = []
    for items in by_agent.values():
        items.sort(key=lambda i: i.row.start)
        for before, after in pairwise(items):
            if after.row.start < before.row.end:
                problems.append(
                    f"row {after.number}: overlaps row {before.number} for the same agent"
                )
    return problems


def _replace(
    session: Session,
    agent_id: int,
    items: list[Numbered],
    *,
    source: Source,
    batch: str,
    now: datetime,
) -> int:
    first = min(i.row.start for i in items).astimezone(UTC)
    last = max(i.row.end for i in items).astimezone(UTC)
    gone = session.execute(
        delete(ScheduledActivity).where(
            ScheduledActivity.agent_id == agent_id,
            ScheduledActivity.start < last,
            ScheduledActivity.end > first,
        )
    )
    values = [
        {
            "agent_id": agent_id,
            "start": i.row.start.astimezone(UTC),
            "end": i.row.end.astimezone(UTC),
            "activity": i.row.activity,
            "at_desk_expected": expected_at_desk(i.row.activity, i.row.at_desk_expected),
            "source": source,
            "imported_at": now,
            "batch": batch,
        }
        for i in items
    ]
    session.execute(insert(ScheduledActivity), values)
    return int(getattr(gone, "rowcount", 0) or 0)


def _resolve(session: Session, *, user: User, refs: Iterable[str | int]) -> dict[str | int, int]:
    """Each reference (a username, or an id) to the agent it names, if ``user`` may
    schedule them; others are left out (an unknown agent, to the importer)."""
    names = sorted({r for r in refs if isinstance(r, str)})
    ids = sorted({r for r in refs if isinstance(r, int)} | {int(n) for n in names if n.isdigit()})
    allowed = _schedulable(session, user=user)
    found: dict[str | int, int] = {}
    for start in range(0, max(len(names), len(ids)), 1000):
        chunk_n, chunk_i = names[start : start + 1000], ids[start : start + 1000]
        for agent_id, username in session.execute(
            allowed.where(User.username.in_(chunk_n) | User.id.in_(chunk_i))
        ):
            found[username] = agent_id
            found[agent_id] = agent_id
    for name in names:  # a username first; digits that name no one may be an id
        if name not in found and name.isdigit() and int(name) in found:
            found[name] = int(name)
    return found


def _schedulable(session: Session, *, user: User) -> Select[int, str]:
    query = select(User.id, User.username).where(User.role == Role.AGENT)
    if user.role == Role.ADMIN:
        return query
    return query.where(User.team_id.in_(visible_team_ids(session, user=user)))


def activities_between(
    session: Session, *, agent_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[ScheduledActivity]]:
    """Each agent's activities overlapping ``[start, end)``, by start (agents without any
    are left out: they have no schedule then)."""
    out: dict[int, list[ScheduledActivity]] = {}
    ids = list(agent_ids)
    for first in range(0, len(ids), 1000):
        rows = session.scalars(
            select(ScheduledActivity)
            .where(
                ScheduledActivity.agent_id.in_(ids[first : first + 1000]),
                ScheduledActivity.start < end,
                ScheduledActivity.end > start,
            )
            .order_by(ScheduledActivity.agent_id, ScheduledActivity.start)
        )
        for row in rows:
            out.setdefault(row.agent_id, []).append(row)
    return out


def create_token(
    session: Session, *, admin: User, name: str, now: datetime
) -> tuple[WfmToken, str]:
    """A new WFM token (the plain token is returned once; only its hash is kept)."""
    plain = new_token()
    row = WfmToken(name=name, token_hash=token_hash(plain), created_by=admin.id, created_at=now)
    session.add(row)
    session.flush()
    subject = f"wfm_token:{row.id}"
    record(session, actor=admin, action="create:wfm_token", subject=subject, now=now)
    return row, plain


def revoke_token(session: Session, *, admin: User, token_id: int, now: datetime) -> WfmToken:
    row = session.get(WfmToken, token_id)
    if row is None:
        raise NotFoundError(f"no WFM token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        subject = f"wfm_token:{row.id}"
        record(session, actor=admin, action="revoke:wfm_token", subject=subject, now=now)
    return row


def tokens(session: Session) -> list[WfmToken]:
    return list(session.scalars(select(WfmToken).order_by(WfmToken.id)))


def token_reader(session: Session, *, token: str, now: datetime) -> WfmToken | None:
    """The valid (not revoked) WFM token ``token`` is, noting its use; None otherwise."""
    row = session.scalar(select(WfmToken).where(WfmToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = now
    return row


def wfm_enabled(session: Session) -> bool:
    """Whether a WFM system can read adherence (an unrevoked token exists)."""
    query = select(WfmToken.id).where(WfmToken.revoked_at.is_(None)).limit(1)
    return session.scalar(query) is not None


def recent_imports(session: Session, *, limit: int = 20) -> list[tuple[str, str, datetime, int]]:
    """The latest imports still in force: (batch, source, imported at, activities kept)."""
    query = (
        select(
            ScheduledActivity.batch,
            ScheduledActivity.source,
            func.max(ScheduledActivity.imported_at),
            func.count(),
        )
        .group_by(ScheduledActivity.batch, ScheduledActivity.source)
        .order_by(func.max(ScheduledActivity.imported_at).desc())
        .limit(limit)
    )
    return [(b, s, at, n) for b, s, at, n in session.execute(query)]
