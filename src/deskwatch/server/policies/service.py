"""Versioned team policies, validated by the edge pipeline's own loader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.config import load_policy_text
from deskwatch.errors import PolicyError
from deskwatch.server.audit.service import record
from deskwatch.server.errors import InvalidError
from deskwatch.server.orgs.models import User
from deskwatch.server.policies.models import PolicyVersion
from deskwatch.server.policies.schemas import PolicyOut
from deskwatch.server.privacy.service import team_and_rev

# Version 1 of every team's policy is the built-in default (an empty TOML).
DEFAULT = PolicyOut(version=1, toml="")


@dataclass(frozen=True)
class AgentVersions:
    """What a heartbeat reply tells a device: re-fetch the policy when either grows."""

    policy_version: int
    privacy_rev: int


class VersionCache:
    """Each team's current policy version, re-read at most every ``ttl_s`` seconds.

    Heartbeats answer with the version and the worker's privacy revision; devices
    re-fetch the policy when either changes, so a new version reaches them within
    ``ttl_s`` plus one heartbeat. Each agent's team and privacy revision are re-read every
    ``agent_ttl_s``, or at once after ``forget(agent_id)`` (an objection or a change of the
    team's categories signals it to every worker).
    """

    def __init__(self, ttl_s: float = 5.0, agent_ttl_s: float = 5.0) -> None:
        self._ttl, self._agent_ttl = timedelta(seconds=ttl_s), timedelta(seconds=agent_ttl_s)
        self._seen: dict[int | None, tuple[datetime, int]] = {}
        self._agents: dict[int, tuple[datetime, int | None, int]] = {}

    def for_agent(self, session: Session, *, agent_id: int, now: datetime) -> AgentVersions:
        """The agent's team policy version and privacy revision (both cached)."""
        hit = self._agents.get(agent_id)
        if hit is None or now - hit[0] >= self._agent_ttl:
            hit = (now, *team_and_rev(session, agent_id=agent_id))
            self._agents[agent_id] = hit
        return AgentVersions(self.version(session, team_id=hit[1], now=now), hit[2])

    def forget(self, agent_id: int) -> None:
        self._agents.pop(agent_id, None)

    def version(self, session: Session, *, team_id: int | None, now: datetime) -> int:
        hit = self._seen.get(team_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        version = current(session, team_id=team_id).version
        self._seen[team_id] = (now, version)
        return version


def current(session: Session, *, team_id: int | None) -> PolicyOut:
    if team_id is None:
        return DEFAULT
    row = session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.team_id == team_id)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )
    return DEFAULT if row is None else PolicyOut(version=row.version, toml=row.toml)


def publish(session: Session, *, team_id: int, toml: str, actor: User, now: datetime) -> PolicyOut:
    """Validate and store a new version (audited); an invalid policy is refused, naming the key."""
    try:
        load_policy_text(toml)
    except PolicyError as exc:
        raise InvalidError(str(exc)) from None
    version = current(session, team_id=team_id).version + 1
    record(
        session,
        actor=actor,
        action="policy:published",
        subject=f"team:{team_id}",
        now=now,
        detail={"version": version},
    )
    session.add(
        PolicyVersion(
            team_id=team_id, version=version, toml=toml, created_by=actor.id, created_at=now
        )
    )
    return PolicyOut(version=version, toml=toml)
