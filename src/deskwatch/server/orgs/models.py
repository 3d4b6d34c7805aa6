"""Sites, teams and users with their roles."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deskwatch.server.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    PRIVACY_OFFICER = "privacy_officer"


team_supervisors = Table(
    "team_supervisors",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Team(Base):
    __tablename__ = "teams"
    # One name per site (migration 0009 renamed older duplicates "Name (2)"…).
    __table_args__ = (Index("uq_teams_site_name", "site_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(200))
    supervisors: Mapped[list[User]] = relationship(secondary=team_supervisors)
    # Bumped when the team's monitoring categories change; agents then re-fetch.
    privacy_rev: Mapped[int] = mapped_column(default=0)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_oidc", "oidc_issuer", "oidc_subject", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped when the worker's objections change; their agent then re-fetches.
    privacy_rev: Mapped[int] = mapped_column(default=0)
    # The web pages' time zone (IANA name); None: the browser's own.
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    # Single sign-on: the provider (issuer URL) and its id of the person (``sub``); None: local.
    oidc_issuer: Mapped[str | None] = mapped_column(String(300), default=None)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), default=None)
