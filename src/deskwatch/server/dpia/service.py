"""A DPIA / legitimate-interest assessment draft built from the live configuration.

``build`` reads every team's effective categories, the organisation's size and the
retention settings into a typed ``Dpia``; ``dpia.render`` turns it into Markdown or HTML.
It is a draft: the privacy officer completes the sections listed in ``TO_COMPLETE``.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from deskwatch.privacy.categories import CATEGORIES, Category
from deskwatch.rules.registry import RULE_NEEDS
from deskwatch.server.audit.service import record
from deskwatch.server.devices.models import Device
from deskwatch.server.dpia.schemas import (
    BalancingTest,
    CategorySection,
    Dpia,
    Notice,
    NoticeItem,
    Retention,
    TeamFacts,
    TeamSetting,
)
from deskwatch.server.dpia.text import (
    BALANCING,
    EXTRA_DETECTORS,
    RISKS,
    SPECIAL,
    TO_COMPLETE,
    Recipient,
    notice_paragraphs,
    recipients,
    safeguards,
)
from deskwatch.server.integrations.service import recipients as integration_recipients
from deskwatch.server.orgs.models import Role, Team, User, team_supervisors
from deskwatch.server.policies.service import current
from deskwatch.server.privacy.models import Objection
from deskwatch.server.privacy.schemas import CategoryView
from deskwatch.server.privacy.service import team_categories
from deskwatch.server.schedules.service import wfm_enabled
from deskwatch.server.settings import Settings

SNAPSHOT_MAX_DAYS = 7


def build(session: Session, *, now: datetime, retention: Retention) -> Dpia:
    """The draft as the configuration stands at ``now``."""
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    named: list[tuple[str, int | None]] = [(t.name, t.id) for t in teams]
    if not named or _count(session, User.team_id.is_(None), User.role == Role.AGENT):
        named.append(("(agents without a team)" if named else "(catalogue defaults)", None))
    views = {team_id: team_categories(session, team_id=team_id) for _, team_id in named}
    objected = _objections(session)
    categories = [_section(cat, named, views, objected) for cat in CATEGORIES.values()]
    snapshots = any(t.snapshot and t.enabled for c in categories for t in c.teams)
    in_use = {c.key for c in categories if c.in_use}
    return Dpia(
        generated_at=now,
        sites=len({t.site_id for t in teams}),
        agents=_count(session, User.role == Role.AGENT, User.active.is_(True)),
        devices=_devices(session, select(Device.agent_id)),
        teams=[_facts(session, t) for t in teams],
        categories=categories,
        retention=retention,
        recipients=_recipients(
            session,
            metrics=retention.metrics_enabled,
            sso=retention.sso_issuer_host,
            wfm=wfm_enabled(session),
        ),
        safeguards=safeguards(snapshots=snapshots, purge_every_s=retention.purge_every_s),
        balancing=[b for c in categories if (b := _balancing(c)) is not None],
        risks=[
            r
            for r in RISKS
            if r.when is None or r.when in in_use | ({"snapshot"} if snapshots else set())
        ],
        notices=[_notice(session, name, team_id, views[team_id]) for name, team_id in named],
        to_complete=list(TO_COMPLETE),
    )


def _recipients(session: Session, *, metrics: bool, sso: str, wfm: bool) -> list[Recipient]:
    """The fixed recipients, then every integration an admin set up (on or off)."""
    sinks = [Recipient(who, sees) for who, sees in integration_recipients(session)]
    fixed = recipients(metrics=metrics, sso=sso, wfm=wfm)
    if sinks:  # "nobody else" is last: it no longer holds without a word on the sinks
        last = fixed.pop()
        fixed += [*sinks, Recipient(last.who, "Beyond the integrations above, " + last.sees)]
    return fixed


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count(User.id)).where(*where)) or 0)


def _objections(session: Session) -> dict[tuple[int | None, str], int]:
    query = (
        select(User.team_id, Objection.category, func.count())
        .join(User, User.id == Objection.agent_id)
        .group_by(User.team_id, Objection.category)
    )
    return {(team_id, key): int(n) for team_id, key, n in session.execute(query)}


def _facts(session: Session, team: Team) -> TeamFacts:
    agents = select(User.id).where(User.team_id == team.id, User.role == Role.AGENT)
    sups = (
        select(func.count())
        .select_from(team_supervisors)
        .where(team_supervisors.c.team_id == team.id)
    )
    return TeamFacts(
        name=team.name,
        agents=_count(
            session, User.team_id == team.id, User.role == Role.AGENT, User.active.is_(True)
        ),
        devices=_devices(session, agents),
        supervisors=int(session.scalar(sups) or 0),
        policy_version=current(session, team_id=team.id).version,
    )


def _devices(session: Session, agents: Select[tuple[int]] | Select[int]) -> int:
    """Enrolled, unrevoked devices of ``agents``."""
    query = select(func.count(Device.id)).where(
        Device.agent_id.in_(agents), Device.revoked_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def _shared(view: CategoryView, into: type[Any]) -> dict[str, Any]:
    """The fields of a team's category view that the draft's record ``into`` also has."""
    known = CategoryView.model_fields
    return {f.name: getattr(view, f.name) for f in fields(into) if f.name in known}


def _section(
    cat: Category,
    named: list[tuple[str, int | None]],
    views: dict[int | None, list[CategoryView]],
    objected: dict[tuple[int | None, str], int],
) -> CategorySection:
    teams = []
    for name, team_id in named:
        v = next(v for v in views[team_id] if v.key == cat.key)
        objections = objected.get((team_id, cat.key), 0)
        teams.append(TeamSetting(team=name, objections=objections, **_shared(v, TeamSetting)))
    needs = sorted({d for t in cat.event_types for d in RULE_NEEDS.get(t, ())})
    detectors = [*needs, *EXTRA_DETECTORS.get(cat.key, ())]
    return CategorySection(
        key=cat.key,
        title=cat.title,
        event_types=list(cat.event_types),
        detectors=detectors,
        reviewed_types=list(cat.reviewed_types),
        special=SPECIAL.get(cat.key, ""),
        teams=teams,
    )


def _balancing(section: CategorySection) -> BalancingTest | None:
    """The test for a category some team runs on legitimate interests (None if none does)."""
    uses = [t for t in section.teams if t.enabled and t.legal_basis == "legitimate_interests"]
    if not uses:
        return None
    necessity, balance = BALANCING[section.key]
    refused = [t.team for t in uses if not t.may_object]
    objection = (
        "Workers may object (GDPR Art. 21); their agent then stops this category's detectors."
        if not refused
        else "No objection is offered in: " + ", ".join(refused) + ". Record here the "
        "compelling legitimate grounds that override the workers' interests (Art. 21(1))."
    )
    return BalancingTest(
        title=section.title,
        teams=[t.team for t in uses],
        purposes=sorted({t.purpose for t in uses}),
        necessity=necessity,
        balance=balance,
        objection=objection,
    )


def _notice(session: Session, name: str, team_id: int | None, views: list[CategoryView]) -> Notice:
    on = [v for v in views if v.enabled]
    sups = select(func.count()).select_from(team_supervisors)
    n = int(session.scalar(sups.where(team_supervisors.c.team_id == team_id)) or 0)
    return Notice(
        team=name,
        items=[NoticeItem(**_shared(v, NoticeItem)) for v in on],
        paragraphs=notice_paragraphs(
            supervisors=n, listens=any(v.key == "environment" for v in on)
        ),
    )


def read(
    session: Session, *, reader: User | None, now: datetime, retention: Retention, what: str
) -> Dpia:
    """Build the draft and record the read (``reader`` None: the command line)."""
    doc = build(session, now=now, retention=retention)
    record(session, actor=reader, action="read:dpia", subject=f"dpia:{what}", now=now)
    return doc


def retention_of(settings: Settings) -> Retention:
    return Retention(
        audit_days=settings.audit_retention_days,
        other_days=settings.uncategorised_retention_days,
        request_days=settings.request_retention_days,
        purge_every_s=settings.purge_every_s,
        metrics_enabled=settings.metrics_enabled,
        sso_issuer_host=urlsplit(settings.oidc_issuer).hostname or "",
    )
