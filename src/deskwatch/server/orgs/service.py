"""Who may see whom: the single place where data access is scoped by role."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.service import record
from deskwatch.server.db import serialise
from deskwatch.server.errors import NotFoundError, RefusedError
from deskwatch.server.orgs.models import Role, Site, Team, User, team_supervisors
from deskwatch.server.security import hash_password

# Reads by these roles of someone else's data are personal-data access worth recording.
OVERSEERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.PRIVACY_OFFICER})


def record_read(session: Session, *, reader: User, agent: User, what: str, now: datetime) -> None:
    """Log a supervisor's, admin's or privacy officer's read of an agent's data."""
    if reader.role in OVERSEERS and reader.id != agent.id:
        record(session, actor=reader, action=f"read:{what}", subject=f"agent:{agent.id}", now=now)


def visible_team_ids(session: Session, *, user: User) -> set[int]:
    """Teams whose agents ``user`` may see: supervisors their own, admins all."""
    if user.role == Role.ADMIN:
        return set(session.scalars(select(Team.id)))
    if user.role == Role.SUPERVISOR:
        rows = session.scalars(
            select(team_supervisors.c.team_id).where(team_supervisors.c.user_id == user.id)
        )
        return set(rows)
    return set()


ALL_TEAMS = "teams:all"  # the audit subject of a read that covered every worker


# An open live board re-reads itself on every change (up to twice a second): its reads are
# logged once per reader and team in this time, not per refresh.
BOARD_READ_EVERY = timedelta(minutes=15)
USER_CHANGED = "user:changed"  # the audit action of an admin's change to a user


def record_team_read(
    session: Session, *, reader: User, what: str, now: datetime, everyone: bool = False
) -> None:
    """Log an overseer's read of whole teams (the board, the device and user lists, the
    audit log): an entry per team read (``team:N``), or one ``teams:all`` for a read of
    every worker (an admin's, or ``everyone``). Each worker finds it in My data. Board
    reads repeated within ``BOARD_READ_EVERY`` are not logged again."""
    if reader.role not in OVERSEERS:
        return
    if everyone or reader.role == Role.ADMIN:
        subjects = [ALL_TEAMS]
    else:  # a privacy officer's board shows nobody: nothing to record
        subjects = [f"team:{t}" for t in sorted(visible_team_ids(session, user=reader))]
    action = f"read:{what}"
    if what == "board":
        subjects = _not_logged_since(session, reader, action, subjects, now - BOARD_READ_EVERY)
    for subject in subjects:
        record(session, actor=reader, action=action, subject=subject, now=now)


def _not_logged_since(
    session: Session, reader: User, action: str, subjects: list[str], since: datetime
) -> list[str]:
    """The subjects without such a read logged since ``since``, or with an agent moved into
    the team after it (the worker must find the read that first showed them)."""
    logged = session.execute(
        select(AuditEntry.subject, func.max(AuditEntry.id))
        .where(
            AuditEntry.actor_id == reader.id,
            AuditEntry.action == action,
            AuditEntry.subject.in_(subjects),
            AuditEntry.at > since,
        )
        .group_by(AuditEntry.subject)
    )
    last_read: dict[str, int] = {subject: entry_id for subject, entry_id in logged}
    moves = session.execute(
        select(AuditEntry.id, AuditEntry.detail).where(
            AuditEntry.action == USER_CHANGED, AuditEntry.at > since
        )
    )
    for entry_id, detail in moves:
        if "team_id" not in detail:
            continue
        joined = f"team:{detail['team_id'][1]}"
        if joined in last_read and last_read[joined] < entry_id:
            del last_read[joined]  # read before the move: the newcomer was not on it
    return [s for s in subjects if s not in last_read]


def visible_agent_ids(session: Session, *, user: User) -> Select[int]:
    """A query of the ids of the agents ``user`` may see: an agent only themself."""
    if user.role == Role.AGENT:
        return select(User.id).where(User.id == user.id)
    teams = visible_team_ids(session, user=user)
    return select(User.id).where(User.role == Role.AGENT, User.team_id.in_(teams))


def visible_agents(session: Session, *, user: User) -> list[User]:
    """Agents ``user`` may see, by name."""
    ids = visible_agent_ids(session, user=user)
    query = select(User).where(User.id.in_(ids.scalar_subquery())).order_by(User.display_name)
    return list(session.scalars(query))


def agent_for(session: Session, *, user: User, agent_id: int) -> User:
    """The agent if ``user`` may see them; otherwise NotFoundError (no existence leak)."""
    agent = session.get(User, agent_id)
    if agent is None or agent.role != Role.AGENT:
        raise NotFoundError(f"no agent {agent_id}")
    if user.id == agent.id:
        return agent
    if agent.team_id is None or agent.team_id not in visible_team_ids(session, user=user):
        raise NotFoundError(f"no agent {agent_id}")
    return agent


def team_agent_ids(session: Session, *, team_id: int) -> list[int]:
    """Every user of the team (its agents), e.g. to tell their agents a setting changed."""
    return list(session.scalars(select(User.id).where(User.team_id == team_id)))


def team_for(session: Session, *, user: User, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team_id not in visible_team_ids(session, user=user):
        raise NotFoundError(f"no team {team_id}")
    return team


def create_site(session: Session, *, name: str) -> Site:
    site = Site(name=name)
    session.add(site)
    session.flush()
    return site


def create_team(session: Session, *, site: Site, name: str) -> Team:
    team = Team(site_id=site.id, name=name)
    session.add(team)
    session.flush()
    return team


def check_team_name(
    session: Session, *, site_id: int, name: str, team_id: int | None = None
) -> str:
    """``name`` without surrounding spaces, if no other team of the site has it (any case);
    RefusedError otherwise. Teams are serialised so two admins never add one name twice."""
    serialise(session, "deskwatch_teams")
    name = name.strip()
    if not name:
        raise RefusedError("a team needs a name")
    query = select(Team.id).where(Team.site_id == site_id, func.lower(Team.name) == name.lower())
    if team_id is not None:
        query = query.where(Team.id != team_id)
    if session.scalar(query.limit(1)) is not None:
        raise RefusedError(f"a team named {name} already exists")
    return name


def supervisor(session: Session, *, user_id: int) -> User:
    """The supervisor ``user_id`` (NotFoundError if there is no such supervisor)."""
    user = session.get(User, user_id)
    if user is None or user.role != Role.SUPERVISOR:
        raise NotFoundError(f"no supervisor {user_id}")
    return user


def create_team_with_supervisors(
    session: Session, *, site_id: int, name: str, supervisor_ids: list[int]
) -> Team:
    """A new team with a name unused in its site; every id given must be a supervisor."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError(f"no site {site_id}")
    name = check_team_name(session, site_id=site_id, name=name)
    chosen = [supervisor(session, user_id=u) for u in dict.fromkeys(supervisor_ids)]
    team = create_team(session, site=site, name=name)
    team.supervisors.extend(chosen)
    session.flush()
    return team


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    team: Team | None = None,
    supervises: list[Team] | None = None,
) -> User:
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
        team_id=team.id if team else None,
    )
    session.add(user)
    session.flush()
    for supervised in supervises or []:
        supervised.supervisors.append(user)
    session.flush()
    return user


def add_user(
    session: Session,
    *,
    actor: User | None,
    now: datetime,
    username: str,
    password: str,
    role: Role,
    team_id: int | None = None,
    display_name: str | None = None,
) -> User:
    """An admin adds a user (recorded in the audit log); ``actor`` None: the command line,
    whose entry says so (``"via": "cli"``)."""
    team = session.get(Team, team_id) if team_id is not None else None
    if team_id is not None and team is None:
        raise NotFoundError(f"no team {team_id}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise RefusedError(f"username {username} is taken")
    user = create_user(
        session,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        team=team,
    )
    record(
        session,
        actor=actor,
        action="user:created",
        subject=f"user:{user.id}",
        now=now,
        detail={"role": role.value} | via(actor),
    )
    return user


def via(actor: User | None) -> dict[str, str]:
    """What an audit entry's detail adds when no user acts: it came from the command line."""
    return {} if actor is not None else {"via": "cli"}


def add_team(
    session: Session,
    *,
    actor: User,
    now: datetime,
    site_id: int,
    name: str,
    supervisor_ids: list[int],
) -> Team:
    """An admin adds a team (recorded in the audit log)."""
    team = create_team_with_supervisors(
        session, site_id=site_id, name=name, supervisor_ids=supervisor_ids
    )
    record(
        session,
        actor=actor,
        action="team:created",
        subject=f"team:{team.id}",
        now=now,
        detail={"supervisors": supervisor_ids},
    )
    return team


def rename_team(
    session: Session, *, actor: User, now: datetime, team_id: int, name: str
) -> tuple[Team, str]:
    """An admin renames a team (audited): the team and its old name."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team {team_id}")
    old = team.name
    team.name = check_team_name(session, site_id=team.site_id, name=name, team_id=team.id)
    if team.name != old:
        record(
            session,
            actor=actor,
            action="team:renamed",
            subject=f"team:{team.id}",
            now=now,
            detail={"name": [old, team.name]},
        )
    session.flush()
    return team, old


def set_supervision(
    session: Session, *, actor: User, now: datetime, team_id: int, user_id: int, on: bool
) -> bool:
    """An admin makes a supervisor supervise a team (``on``) or stop (audited): whether
    anything changed. A team may have several supervisors."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team {team_id}")
    user = supervisor(session, user_id=user_id) if on else session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no supervisor {user_id}")
    if (user in team.supervisors) == on:
        return False
    if on:
        team.supervisors.append(user)
    else:
        team.supervisors.remove(user)
    action = "team:supervisor_added" if on else "team:supervisor_removed"
    record(
        session,
        actor=actor,
        action=action,
        subject=f"team:{team.id}",
        now=now,
        detail={"supervisor": user.id},
    )
    session.flush()
    return True


def set_display_name(
    session: Session, *, actor: User, now: datetime, user_id: int, name: str
) -> bool:
    """An admin changes the name the pages show for a user (audited): whether it changed."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    name = name.strip()
    if not name:
        raise RefusedError("a display name cannot be empty")
    if name == user.display_name:
        return False
    record(
        session,
        actor=actor,
        action="user:renamed",
        subject=f"user:{user.id}",
        now=now,
        detail={"display_name": [user.display_name, name]},
    )
    user.display_name = name
    session.flush()
    return True


class Keep(enum.Enum):
    """A field ``set_user_fields`` leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


def set_user_fields(
    session: Session,
    *,
    actor: User | None,
    user_id: int,
    role: Role | Keep = KEEP,
    team_id: int | Keep | None = KEEP,
    active: bool | Keep = KEEP,
) -> tuple[User, dict[str, list[Any]]]:
    """An admin's change to a user's role, team or whether they may sign in, applied to the
    user: the user and what changed as ``[old, new]`` (``flows.change_user`` does the rest).
    ``actor`` None: the command line, trusted as the server's operator."""
    serialise(session, "deskwatch_users")  # two admins never demote each other at once
    user = _changeable(session, actor=actor, user_id=user_id, role=role, active=active)
    if isinstance(team_id, int) and session.get(Team, team_id) is None:
        raise NotFoundError(f"no team {team_id}")
    changed: dict[str, list[Any]] = {}
    for name, new in (("role", role), ("team_id", team_id), ("active", active)):
        if new is not KEEP and new != getattr(user, name):
            changed[name] = [getattr(user, name), new]
            setattr(user, name, new)
    return user, changed


def _changeable(
    session: Session, *, actor: User | None, user_id: int, role: Role | Keep, active: bool | Keep
) -> User:
    """The user to change, once the actor is known to be an admin still (or the command
    line) and not about to lock themself out (RefusedError or NotFoundError otherwise)."""
    if actor is not None:
        check_admin(session, actor=actor, what="change users")
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    locks_out = role not in (KEEP, user.role) or active is False
    if actor is not None and user.id == actor.id and locks_out:
        raise RefusedError("admins cannot change their own role or switch themselves off")
    return user


def check_admin(session: Session, *, actor: User, what: str) -> None:
    """RefusedError unless ``actor`` is, as of now, an active admin (who may do ``what``)."""
    session.refresh(actor)
    if actor.role != Role.ADMIN or not actor.active:
        raise RefusedError(f"only an admin may {what}")


def set_password(session: Session, *, user: User, password: str) -> None:
    """A new password for ``user`` (``flows.change_password`` ends their sessions too)."""
    user.password_hash = hash_password(password)
    session.flush()


def follow_user_change(session: Session, *, user: User, changed: dict[str, list[Any]]) -> None:
    """What follows within the organisation: supervision ends with the role, and a move
    grows the worker's revision."""
    if "role" in changed and changed["role"][0] == Role.SUPERVISOR:
        session.execute(delete(team_supervisors).where(team_supervisors.c.user_id == user.id))
    if "team_id" in changed:
        old, new = changed["team_id"]
        # The revision an agent compares is the worker's plus their team's: grown by one
        # over the old team's, in SQL so that an objection committed meanwhile is not lost
        # (the worker's own part may go below 0).
        bump = _team_rev(session, old) + 1 - _team_rev(session, new)
        user.privacy_rev = User.privacy_rev + bump


def working_agent(user: User, *, before: dict[str, list[Any]] | None = None) -> bool:
    """Whether the user works as an agent (``before`` a change, given what changed)."""
    old = before or {}
    role = old["role"][0] if "role" in old else user.role
    active = old["active"][0] if "active" in old else user.active
    return bool(role == Role.AGENT and active)


def _team_rev(session: Session, team_id: int | None) -> int:
    team = session.get(Team, team_id) if team_id is not None else None
    return team.privacy_rev if team else 0


def bump_privacy_rev(session: Session, *, model: type[Team] | type[User], row: Team | User) -> None:
    """``privacy_rev + 1`` in SQL: two concurrent changes make two increments, so an agent
    (which compares revisions for equality) never misses the second."""
    session.execute(
        update(model)
        .where(model.id == row.id)
        .values(privacy_rev=model.privacy_rev + 1)
        .execution_options(synchronize_session=False)
    )
    session.expire(row, ["privacy_rev"])
