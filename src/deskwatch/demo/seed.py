"""The demo organisation: a site, two teams, a dozen agents, and each agent's morning so far."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.devices.service import create_code
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import create_site, create_team, create_user
from deskwatch.server.status.models import StatusChange

AGENTS = [
    "Amira Haddad",
    "Ben Okafor",
    "Chloe Martin",
    "Dev Patel",
    "Elena Rossi",
    "Farid Nasser",
    "Grace Kim",
    "Hugo Silva",
    "Ines Duarte",
    "Jonas Berg",
    "Kofi Mensah",
    "Lena Vogel",
]


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


@dataclass
class Seeded:
    logins: list[Login] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # one per agent, in AGENTS order
    mornings: list[list[tuple[str, datetime, float]]] = field(default_factory=list)


def seed(sessions: sessionmaker[Session], now: datetime) -> Seeded:
    """The organisation, one enrolment code per agent, and each simulated agent's morning so
    far (the first agent's PC runs the real agent: its day starts with the demo)."""
    out = Seeded()
    with sessions.begin() as s:
        site = create_site(s, name="Leeds contact centre")
        teams = [create_team(s, site=site, name=n) for n in ("Billing", "Support")]
        admin = _person(s, out, "admin", Role.ADMIN, "Ada Admin")
        _person(s, out, "privacy", Role.PRIVACY_OFFICER, "Priya Privacy")
        _person(s, out, "supervisor", Role.SUPERVISOR, "Sam Supervisor", supervises=teams)
        for i, name in enumerate(AGENTS):
            agent = _person(s, out, name.split()[0].lower(), Role.AGENT, name, team=teams[i % 2])
            code, _ = create_code(s, admin=admin, agent_id=agent.id, now=now, ttl_s=3600)
            out.codes.append(code)
            if i > 0:
                out.mornings.append(_morning(s, agent.id, now, random.Random(i)))
    return out


def _person(s: Session, out: Seeded, username: str, role: Role, name: str, **kw: Any) -> User:
    password = secrets.token_urlsafe(9)
    out.logins.append(Login(username, password, role.value))
    return create_user(s, username=username, password=password, role=role, display_name=name, **kw)


def _morning(
    s: Session, agent_id: int, now: datetime, rng: random.Random
) -> list[tuple[str, datetime, float]]:
    """Status history for the shift so far (from 08:00, or the last 6 hours early in the day
    so that today's timeline has something to show); returns the events to report."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    t = max(midnight, min(midnight + timedelta(hours=8), now - timedelta(hours=6)))
    status, events = "at_desk", []
    while t < now - timedelta(minutes=10):
        s.add(StatusChange(agent_id=agent_id, status=status, at=t))
        minutes = rng.randint(25, 70) if status == "at_desk" else rng.randint(3, 15)
        if status == "away":
            events.append(("away", t, minutes * 60.0))
        elif rng.random() < 0.4:
            kind = rng.choice(["phone_in_use", "looking_away", "extra_person"])
            events.append((kind, t + timedelta(minutes=rng.randint(2, 20)), rng.uniform(4, 40)))
        t += timedelta(minutes=minutes)
        status = rng.choice(["away", "away", "paused"]) if status == "at_desk" else "at_desk"
    return events
