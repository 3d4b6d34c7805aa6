"""Users from the command line: a fresh server's first admin, and the accounts after it.

Every change is recorded in the audit log with no acting user (the command line, like the
scheduled purge) and ``"via": "cli"`` in its detail. Passwords are read at a hidden prompt
(twice) or from stdin with ``--password-stdin``; never from the command line itself."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table

from deskwatch.console import fail, out
from deskwatch.server.errors import InvalidError, NotFoundError, RefusedError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from deskwatch.server.live import Changes
    from deskwatch.server.orgs.models import Role, Team, User
    from deskwatch.server.settings import Settings

users_app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

T = TypeVar("T")
Work = Callable[["Session", datetime, "Changes"], T]
ROLES = ("agent", "supervisor", "admin", "privacy_officer")

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="database URL (default: DESKWATCH_DATABASE_URL)"),
]
UserArg = Annotated[str, typer.Argument(help="username")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from stdin (one line)")
]


class _RefusedError(Exception):
    """A refusal from the command line's own checks (becomes a one-line error)."""


@contextmanager
def _database(database_url: str | None) -> Iterator[tuple[Any, Changes]]:
    """Sessions on the server's migrated database, appending to its audit chain (the key is
    made as ``deskwatch server`` makes it, on a fresh install)."""
    from deskwatch.server.audit.chain import AuditChain, attach
    from deskwatch.server.db import make_engine, session_factory
    from deskwatch.server.integrations import service as integrations
    from deskwatch.server.live import Changes
    from deskwatch.server.migrate import upgrade

    assert integrations  # loaded: audit entries made here reach the SIEM sinks too

    settings = settings_or_fail()
    try:
        engine = make_engine(database_url or settings.database_url)
        audit = AuditChain.from_settings(settings)
        upgrade(engine, audit=audit)  # as ``deskwatch server`` does before it starts
    except Exception as exc:  # unreachable database, unreadable key
        raise fail(f"cannot open the database: {_first_line(exc)}") from None
    changes = Changes(engine)  # on PostgreSQL, running servers forget the changed user
    try:
        yield attach(session_factory(engine), audit), changes
    finally:
        changes.close()
        engine.dispose()


def settings_or_fail() -> Settings:
    """The server's settings, or one line naming the first bad one and exit 2."""
    from deskwatch.server.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        name = f"DESKWATCH_{where.upper()}: " if where else ""
        raise fail(f"settings: {name}{first['msg']}") from None


def _run(database_url: str | None, work: Work[T]) -> T:
    """``work`` in one transaction; what goes wrong is one line on stderr and exit 2."""
    from deskwatch.server.db import utcnow

    with _database(database_url) as (sessions, changes):
        try:
            with sessions.begin() as session:
                return work(session, utcnow(), changes)
        except (_RefusedError, NotFoundError, RefusedError, InvalidError) as exc:
            raise fail(str(exc)) from None
        except Exception as exc:  # the database went away, a concurrent duplicate
            raise fail(f"cannot change users: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _password(from_stdin: bool) -> str:
    """The new password, at least 10 characters (as on the API)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise fail("the password must be at least 10 characters")
    if len(password) > 200:
        raise fail("the password must be at most 200 characters")
    return password


def _role(name: str) -> Role:
    from deskwatch.server.orgs.models import Role

    if name not in ROLES:
        raise fail(f"no role {name!r}: one of {', '.join(ROLES)}")
    return Role(name)


def _user(session: Session, username: str) -> User:
    from sqlalchemy import select

    from deskwatch.server.orgs.models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise _RefusedError(f"no user {username!r} (deskwatch users list shows them)")
    return user


def _team(session: Session, name_or_id: str) -> Team:
    """A team by its id, or by its name when that names one team."""
    from sqlalchemy import select

    from deskwatch.server.orgs.models import Team

    if name_or_id.isdigit() and (team := session.get(Team, int(name_or_id))) is not None:
        return team
    named = list(session.scalars(select(Team).where(Team.name == name_or_id)))
    if not named:
        raise _RefusedError(f"no team {name_or_id!r}")
    if len(named) > 1:
        ids = ", ".join(str(t.id) for t in named)
        raise _RefusedError(f"{len(named)} teams are named {name_or_id!r} (ids {ids}): give the id")
    return named[0]


def _checked(username: str, password: str, role: Role, display_name: str | None) -> None:
    """The API's limits on a new user (``orgs.schemas.UserIn``)."""
    from deskwatch.server.orgs.schemas import UserIn

    try:
        UserIn(username=username, password=password, role=role, display_name=display_name)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).replace("_", " ")
        raise fail(f"{field}: {first['msg']}") from None
    if display_name is not None and not 1 <= len(display_name) <= 200:
        raise fail("display name: 1 to 200 characters")


@users_app.command("add")
def add(
    username: UserArg,
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "agent",
    display_name: Annotated[str | None, typer.Option(help="the name people see")] = None,
    team: Annotated[str | None, typer.Option(help="an agent's team (name or id)")] = None,
    password_stdin: StdinOpt = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Add a user (the first admin: deskwatch users add admin --role admin)."""
    from deskwatch.server.orgs.models import Role

    chosen = _role(role)
    if team is not None and chosen != Role.AGENT:
        raise fail("--team is for agents (supervisors are given teams on the admin page)")
    password = _password(password_stdin)
    _checked(username, password, chosen, display_name)

    def work(session: Session, now: datetime, _changes: Changes) -> User:
        return _add(
            session,
            now=now,
            username=username,
            password=password,
            role=chosen,
            team=team,
            display_name=display_name,
        )

    user = _run(database_url, work)
    out.print(f"added {user.role} {user.username} (id {user.id})", highlight=False)


def _add(
    session: Session,
    *,
    now: datetime,
    username: str,
    password: str,
    role: Role,
    team: str | None,
    display_name: str | None,
) -> User:
    """``orgs.service.add_user`` by the command line (a team by its name or id)."""
    from deskwatch.server.orgs.service import add_user

    found = _team(session, team) if team is not None else None
    return add_user(
        session,
        actor=None,
        now=now,
        username=username,
        password=password,
        role=role,
        team_id=found.id if found is not None else None,
        display_name=display_name,
    )


@users_app.command("list")
def list_users(database_url: DatabaseOpt = None) -> None:
    """Every user: id, username, name, role, team and whether they may sign in."""
    from sqlalchemy import select

    from deskwatch.server.orgs.models import Team, User

    def work(session: Session, _now: datetime, _changes: Changes) -> list[tuple[str, ...]]:
        teams = {t.id: t.name for t in session.scalars(select(Team))}
        return [
            (
                str(u.id),
                u.username,
                u.display_name,
                str(u.role),
                teams.get(u.team_id, "") if u.team_id is not None else "",
                "yes" if u.active else "no",
            )
            for u in session.scalars(select(User).order_by(User.id))
        ]

    rows = _run(database_url, work)
    table = Table(title=f"{len(rows)} users")
    for column in ("id", "username", "name", "role", "team", "active"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _change(username: str, database_url: str | None, **fields: Any) -> dict[str, list[Any]]:
    """``flows.change_user`` by the command line: what changed (``sessions_ended`` too)."""
    from deskwatch.server.flows import change_user

    def work(session: Session, now: datetime, changes: Changes) -> dict[str, list[Any]]:
        user = _user(session, username)
        return change_user(session, actor=None, user_id=user.id, now=now, changes=changes, **fields)

    return _run(database_url, work)


def _said(username: str, changed: dict[str, list[Any]], what: str) -> None:
    if not changed:
        out.print(f"{username}: nothing to change", highlight=False)
        return
    out.print(f"{username}: {what}", highlight=False)


@users_app.command("set-role")
def set_role(
    username: UserArg,
    role: Annotated[str, typer.Argument(help=f"one of {', '.join(ROLES)}")],
    database_url: DatabaseOpt = None,
) -> None:
    """Give a user another role (no longer an agent: their devices are revoked)."""
    chosen = _role(role)
    changed = _change(username, database_url, role=chosen)
    _said(username, changed, f"role {chosen}")


@users_app.command("disable")
def disable(username: UserArg, database_url: DatabaseOpt = None) -> None:
    """Switch a user off: no more sign-ins, every session ended, an agent's devices revoked."""
    changed = _change(username, database_url, active=False)
    ended = changed.get("sessions_ended", [0])[0]
    _said(username, changed, f"switched off, {ended} session(s) ended")


@users_app.command("enable")
def enable(username: UserArg, database_url: DatabaseOpt = None) -> None:
    """Switch a user back on (an agent enrols their PC again)."""
    _said(username, _change(username, database_url, active=True), "switched on")


@users_app.command("reset-password")
def reset_password(
    username: UserArg, password_stdin: StdinOpt = False, database_url: DatabaseOpt = None
) -> None:
    """Give a user a new password; every session of theirs ends."""
    from deskwatch.server.flows import reset_password as reset

    password = _password(password_stdin)

    def work(session: Session, now: datetime, _changes: Changes) -> int:
        user = _user(session, username)
        return reset(session, admin=None, user_id=user.id, password=password, now=now)

    ended = _run(database_url, work)
    out.print(f"{username}: new password set, {ended} session(s) ended", highlight=False)
