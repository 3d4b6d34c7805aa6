"""The preference centre (per-team categories) and objections."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, delete, false, select, union_all
from sqlalchemy.orm import Session

from deskwatch.privacy.categories import (
    CATEGORIES,
    LEGAL_BASIS_WORDS,
    SNAPSHOT_CATEGORIES,
    Category,
)
from deskwatch.server.audit.service import record
from deskwatch.server.errors import InvalidError, NotFoundError, RefusedError
from deskwatch.server.live import Changes
from deskwatch.server.orgs.models import Role, Team, User
from deskwatch.server.orgs.service import bump_privacy_rev, team_agent_ids, team_for
from deskwatch.server.privacy.models import CategorySetting, Objection
from deskwatch.server.privacy.schemas import (
    CategoryIn,
    CategoryView,
    DevicePrivacy,
    MyCategory,
)


def readable_team(session: Session, *, user: User, team_id: int) -> Team:
    """Privacy officers read every team's settings; others only teams they oversee."""
    if user.role == Role.PRIVACY_OFFICER:
        team = session.get(Team, team_id)
        if team is None:
            raise NotFoundError(f"no team {team_id}")
        return team
    return team_for(session, user=user, team_id=team_id)


def announce(session: Session, *, changes: Changes, agent_ids: Iterable[int]) -> None:
    """Tell every server process, once committed, that these workers' privacy settings
    changed: their next heartbeat reply then carries the new revision."""
    for agent_id in agent_ids:
        changes.publish(session, agent_id=agent_id)


def _view(cat: Category, row: CategorySetting | None) -> CategoryView:
    basis = row.legal_basis if row else cat.legal_basis
    return CategoryView(
        key=cat.key,
        title=cat.title,
        purpose=row.purpose if row else cat.purpose,
        event_types=list(cat.event_types),
        legal_basis=basis,
        legal_basis_words=LEGAL_BASIS_WORDS[basis],
        retention_days=row.retention_days if row else cat.retention_days,
        enabled=row.enabled if row else cat.default_on,
        may_object=row.may_object if row else cat.may_object,
        snapshot=row.snapshot if row else False,
    )


def team_categories(session: Session, *, team_id: int | None) -> list[CategoryView]:
    """Every category as the team has it (the catalogue's defaults where unchanged)."""
    rows: dict[str, CategorySetting] = {}
    if team_id is not None:
        query = select(CategorySetting).where(CategorySetting.team_id == team_id)
        rows = {r.category: r for r in session.scalars(query)}
    return [_view(cat, rows.get(key)) for key, cat in CATEGORIES.items()]


def set_category(
    session: Session,
    *,
    team: Team,
    key: str,
    change: CategoryIn,
    actor: User,
    now: datetime,
    max_retention_days: int,
    changes: Changes | None = None,
) -> CategoryView:
    """Change one category of a team (audited); agents pick it up at their next heartbeat
    (with ``changes``, every server process is told at once which agents to re-check).

    ``max_retention_days`` is the audit log's retention: no category may keep its data
    longer than the record of who read it."""
    if key not in CATEGORIES:
        raise NotFoundError(f"no category {key!r}")
    current = next(c for c in team_categories(session, team_id=team.id) if c.key == key)
    merged = current.model_copy(update=change.model_dump(exclude_none=True))
    _check(key, merged, max_retention_days=max_retention_days)
    row = session.scalar(
        select(CategorySetting).where(
            CategorySetting.team_id == team.id, CategorySetting.category == key
        )
    )
    if row is None:
        row = CategorySetting(team_id=team.id, category=key)
        session.add(row)
    for field in ("enabled", "purpose", "legal_basis", "retention_days", "may_object", "snapshot"):
        setattr(row, field, getattr(merged, field))
    row.updated_by, row.updated_at = actor.id, now
    bump_privacy_rev(session, model=Team, row=team)
    detail = change.model_dump(exclude_none=True)
    record(
        session,
        actor=actor,
        action="category:changed",
        subject=f"team:{team.id}:{key}",
        now=now,
        detail=detail,
    )
    if changes is not None:
        announce(session, changes=changes, agent_ids=team_agent_ids(session, team_id=team.id))
    return _view(CATEGORIES[key], row)


# Categories whose consent the worker gives themself: the identity check is off until the
# worker enrols on their own PC. No other category has an opt-in, so none may claim consent.
OPT_IN = frozenset({"identity"})


def _check(key: str, view: CategoryView, *, max_retention_days: int) -> None:
    if key == "identity" and view.legal_basis != "consent":
        raise InvalidError("legal_basis: biometric identity checks need explicit consent")
    if key == "identity" and not view.may_object:
        raise InvalidError("may_object: consent to biometrics can always be withdrawn")
    if view.legal_basis == "consent" and key not in OPT_IN:
        raise InvalidError(
            f"legal_basis: consent needs each worker to opt in, and {view.title} has no "
            "opt-in (it runs for everyone it is on for); choose another basis"
        )
    if view.snapshot and key not in SNAPSHOT_CATEGORIES:
        raise InvalidError(f"snapshot: not available for {key!r}")
    if view.retention_days > max_retention_days:
        raise InvalidError(
            f"retention_days: at most {max_retention_days}, the audit log's retention "
            "(DESKWATCH_AUDIT_RETENTION_DAYS): the record of who read the data must outlive it"
        )


def objections(session: Session, *, agent_id: int) -> set[str]:
    query = select(Objection.category).where(Objection.agent_id == agent_id)
    return set(session.scalars(query))


def my_categories(session: Session, *, agent: User) -> list[MyCategory]:
    """The worker's categories, each with whether they object to it."""
    mine = objections(session, agent_id=agent.id)
    return [
        MyCategory(**c.model_dump(), objected=c.key in mine)
        for c in team_categories(session, team_id=agent.team_id)
    ]


def set_objection(
    session: Session, *, agent: User, key: str, objected: bool, now: datetime
) -> list[MyCategory]:
    """Object to (or withdraw the objection to) a category the worker may object to."""
    view = next((c for c in my_categories(session, agent=agent) if c.key == key), None)
    if view is None:
        raise NotFoundError(f"no category {key!r}")
    if objected and not view.may_object:
        raise RefusedError(f"{view.title}: your employer does not offer an objection here")
    if objected != view.objected:
        if objected:
            session.add(Objection(agent_id=agent.id, category=key, created_at=now))
        else:
            session.execute(
                delete(Objection).where(Objection.agent_id == agent.id, Objection.category == key)
            )
        bump_privacy_rev(session, model=User, row=agent)
        action = "objection:made" if objected else "objection:withdrawn"
        record(session, actor=agent, action=action, subject=f"agent:{agent.id}:{key}", now=now)
    session.flush()
    return my_categories(session, agent=agent)


def team_and_rev(session: Session, *, agent_id: int) -> tuple[int | None, int]:
    """The agent's team, and a revision that grows whenever the worker's objections or
    their team's categories change (their agent then re-fetches its policy)."""
    row = session.execute(_revisions().where(User.id == agent_id)).first()
    return (None, 0) if row is None else (row[1], int(row[2]) + int(row[3] or 0))


def every_team_and_rev(session: Session) -> list[tuple[int, int | None, int]]:
    """(agent id, team, revision) as ``team_and_rev`` gives it, for every agent at once."""
    rows = session.execute(_revisions().where(User.role == Role.AGENT))
    return [(agent, team, int(mine) + int(teams or 0)) for agent, team, mine, teams in rows]


def _revisions() -> Select[int, int | None, int, int]:
    return select(User.id, User.team_id, User.privacy_rev, Team.privacy_rev).outerjoin(
        Team, Team.id == User.team_id
    )


def device_privacy(session: Session, *, agent: User) -> DevicePrivacy:
    """What the worker's agent enforces: categories off or objected to, snapshot opt-ins."""
    return DevicePrivacy(
        rev=team_and_rev(session, agent_id=agent.id)[1],
        categories=my_categories(session, agent=agent),
    )


def off_types(session: Session, *, agent_id: int) -> frozenset[str]:
    """Event types the server must not store for this agent: their category is off for the
    agent's team or the agent objected to it. One query (ingest asks once per batch)."""
    team = select(User.team_id).where(User.id == agent_id).scalar_subquery()
    rows = session.execute(
        union_all(
            select(CategorySetting.category, CategorySetting.enabled).where(
                CategorySetting.team_id == team
            ),
            select(Objection.category, false()).where(Objection.agent_id == agent_id),
        )
    )
    switched_on: set[str] = set()
    off: set[str] = set()
    for key, enabled in rows:
        (switched_on if enabled else off).add(key)
    off |= {k for k, c in CATEGORIES.items() if not c.default_on and k not in switched_on}
    return frozenset(t for k in off if k in CATEGORIES for t in CATEGORIES[k].event_types)
