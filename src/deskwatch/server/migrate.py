"""Apply the Alembic migrations shipped in the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from deskwatch.server.audit.chain import AuditChain, Head

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head", *, audit: AuditChain | None = None) -> None:
    """Bring the database at ``engine`` up to ``revision``. ``audit`` is needed where a
    migration re-chains existing audit entries (0004); the head record follows the commit."""
    config = alembic_config()
    config.attributes["audit_chain"] = audit
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    head = config.attributes.get("audit_head")
    if audit is not None and head is not None:
        audit.advance(Head(*head))
