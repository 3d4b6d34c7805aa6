"""Versioned team policies, validated by the edge pipeline's own loader."""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deskwatch.config import Policy, load_policy_text
from deskwatch.errors import PolicyError
from deskwatch.server.audit.service import record
from deskwatch.server.errors import InvalidError
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.policies.models import PolicyVersion
from deskwatch.server.policies.schemas import PolicyOut
from deskwatch.server.privacy.service import team_and_rev
from deskwatch.server.reload import ForgetLog

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
    ``ttl_s`` plus one heartbeat. Each agent's team and privacy revision are kept for
    ``agent_ttl_s``, reloaded for every agent at once by ``refresh``, and forgotten at once
    by ``forget(agent_id)`` (an objection or a change of the team's categories signals it
    to every worker).
    """

    def __init__(self, ttl_s: float = 5.0, agent_ttl_s: float = 5.0) -> None:
        self._ttl, self._agent_ttl = timedelta(seconds=ttl_s), timedelta(seconds=agent_ttl_s)
        self._lock = threading.Lock()
        self._seen: dict[int | None, tuple[datetime, int]] = {}
        self._agents: dict[int, tuple[datetime, int | None, int]] = {}
        self._forgets: ForgetLog[int] = ForgetLog(self._lock)

    def for_agent(self, session: Session, *, agent_id: int, now: datetime) -> AgentVersions:
        """The agent's team policy version and privacy revision (both cached)."""
        hit = self._agents.get(agent_id)
        if hit is None or now - hit[0] >= self._agent_ttl:
            hit = (now, *team_and_rev(session, agent_id=agent_id))
            self._agents[agent_id] = hit
        return AgentVersions(self.version(session, team_id=hit[1], now=now), hit[2])

    def peek(self, *, agent_id: int, now: datetime) -> AgentVersions | None:
        """``for_agent`` from memory alone; None when something must be read first."""
        hit = self._agents.get(agent_id)
        if hit is None or now - hit[0] >= self._agent_ttl:
            return None
        team = self._seen.get(hit[1]) if hit[1] is not None else (now, DEFAULT.version)
        if team is None or now - team[0] >= self._ttl:
            return None
        return AgentVersions(team[1], hit[2])

    def learn_versions(self, versions: Iterable[tuple[int, int]], *, now: datetime) -> None:
        """Every team's (id, current policy version), read at once."""
        self._seen.update({team: (now, version) for team, version in versions})

    def refresh(
        self, load: Callable[[], Iterable[tuple[int, int | None, int]]], *, now: datetime
    ) -> int:
        """Reload (agent id, team id, privacy revision) of every agent; the count."""

        def apply(rows: list[tuple[int, int | None, int]], gone: set[int]) -> int:
            fresh = {a: (now, team, rev) for a, team, rev in rows if a not in gone}
            self._agents.update(fresh)
            return len(fresh)

        return self._forgets.reload(load, apply)

    def forget(self, agent_id: int) -> None:
        with self._lock:
            self._agents.pop(agent_id, None)
            self._forgets.note(agent_id)

    def version(self, session: Session, *, team_id: int | None, now: datetime) -> int:
        hit = self._seen.get(team_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        version = current(session, team_id=team_id).version
        self._seen[team_id] = (now, version)
        return version


def every_version(session: Session) -> list[tuple[int, int]]:
    """(team id, current policy version) of every team, as ``current`` gives it."""
    latest = select(PolicyVersion.team_id, func.max(PolicyVersion.version))
    published = {
        team: version for team, version in session.execute(latest.group_by(PolicyVersion.team_id))
    }
    teams = session.scalars(select(Team.id))
    return [(team, published.get(team, DEFAULT.version)) for team in teams]


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


def history(session: Session, *, team_id: int) -> list[PolicyVersion]:
    """Every published version of the team's policy, newest first."""
    query = select(PolicyVersion).where(PolicyVersion.team_id == team_id)
    return list(session.scalars(query.order_by(PolicyVersion.version.desc())))


def version_of(session: Session, *, team_id: int, version: int) -> PolicyVersion | None:
    query = select(PolicyVersion).where(
        PolicyVersion.team_id == team_id, PolicyVersion.version == version
    )
    return session.scalar(query)


def check(toml: str) -> str | None:
    """Why ``toml`` is not a valid policy, or None when it is."""
    try:
        load_policy_text(toml)
    except PolicyError as exc:
        return str(exc)
    return None


def editor_text(policy: PolicyOut) -> str:
    """What the policy editor starts from: the policy, or the built-in defaults written out
    when it is empty (the default version 1)."""
    return policy.toml if policy.toml.strip() else default_toml()


def diff(old: str, new: str) -> str:
    """A unified diff of two policy texts ("" when they are the same)."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "current", "proposed", lineterm=""
    )
    return "\n".join(lines)


def default_toml() -> str:
    """The effective default policy as TOML (every key with its built-in value)."""
    data = Policy().model_dump(mode="json", exclude={"version"})
    for section in data.get("detectors", {}).values():
        section.pop("type", None)  # a detector's section names its type
    lines = ["# The built-in defaults: edit what your team needs, delete the rest."]
    _toml_tables([], data, lines)
    return "\n".join(lines).strip() + "\n"


def _toml_tables(path: list[str], data: dict[str, Any], lines: list[str]) -> None:
    """``data``'s plain keys under ``[path]``, then each nested table."""
    plain = {k: v for k, v in data.items() if not isinstance(v, dict)}
    if path and plain:
        lines += ["", f"[{'.'.join(path)}]"]
    for key, value in plain.items():
        lines.append(f"# {key} = (not set)" if value is None else f"{key} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            _toml_tables([*path, key], value, lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))
