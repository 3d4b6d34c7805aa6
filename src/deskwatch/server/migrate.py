"""Apply the Alembic migrations shipped in the package. Alembic (with Mako and Pygments)
loads only when migrations run, not when the app is imported."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from deskwatch.server.audit.chain import AuditChain, Head

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head", *, audit: AuditChain | None = None) -> None:
    """Bring the database at ``engine`` up to ``revision``. ``audit`` is needed where a
    migration re-chains existing audit entries (0004); the head record follows the commit."""
    from alembic import command

    config = alembic_config()
    config.attributes["audit_chain"] = audit
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    head = config.attributes.get("audit_head")
    if audit is not None and head is not None:
        audit.advance(Head(*head))
