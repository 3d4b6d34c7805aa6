"""Migrations bring an empty database to the models' schema, on both backends."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from deskwatch.server.db import make_engine
from deskwatch.server.migrate import upgrade
from deskwatch.server.models import Base
from tests.server.conftest import postgres_schema


def _check(url_engine: object) -> None:
    from sqlalchemy import Engine

    assert isinstance(url_engine, Engine)
    upgrade(url_engine)
    upgrade(url_engine)  # a second start finds nothing to do
    tables = set(inspect(url_engine).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(url_engine).get_columns(name)}
        assert columns == {c.name for c in table.columns}, name


def test_sqlite_from_empty(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    _check(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_postgresql_from_empty() -> None:
    with postgres_schema("dw_mig") as engine:
        _check(engine)
