"""The audit log is hash-chained: editing or deleting an entry is detected."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.service import record, verify
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.migrate import upgrade
from tests.server.conftest import Org

T0 = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)


def _write(db: sessionmaker[Session], org: Org, n: int = 5) -> list[int]:
    with db() as s:
        ids = [
            record(
                s,
                actor=org.sup_a,
                action="read:timeline",
                subject=f"agent:{i}",
                now=T0 + timedelta(seconds=i),
                detail={"n": i},
            ).id
            for i in range(n)
        ]
        s.commit()
    return ids


def _verify(db: sessionmaker[Session]) -> tuple[bool, int | None, str]:
    with db() as s:
        result = verify(s)
    return result.intact, result.broken_at, result.reason


def test_intact_chain_verifies(db: sessionmaker[Session], org: Org) -> None:
    _write(db, org)
    assert _verify(db)[0]


def test_an_edited_entry_is_detected(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    with db() as s:
        s.execute(text("UPDATE audit_log SET subject = 'agent:999' WHERE id = :id"), {"id": ids[2]})
        s.commit()
    assert _verify(db) == (False, ids[2], "its content was changed")


def test_a_deleted_entry_is_detected(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    with db() as s:
        s.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[2]})
        s.commit()
    assert _verify(db) == (False, ids[3], "the entry before it was deleted or changed")


def test_a_rewritten_hash_still_breaks_the_next_link(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    with db() as s:
        s.execute(
            text("UPDATE audit_log SET subject = 'x', hash = :h WHERE id = :id"),
            {"h": "f" * 64, "id": ids[1]},
        )
        s.commit()
    assert _verify(db)[1] == ids[1]


def test_upgrade_chains_existing_entries_and_cli_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as conn:  # entries as 0001 wrote them: no hash columns yet
        for i in range(3):
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, action, subject, detail) "
                    "VALUES (:at, 'login', :s, :d)"
                ),
                {
                    "at": (T0 + timedelta(minutes=i)).replace(tzinfo=None),
                    "s": f"user:{i}",
                    "d": "{}",
                },
            )
    upgrade(engine)
    with session_factory(engine)() as s:
        assert verify(s).intact and verify(s).entries == 3
    env = {**os.environ, "DESKWATCH_DATABASE_URL": url}
    ok = subprocess.run(
        [sys.executable, "-m", "deskwatch", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "intact: 3 entries" in ok.stdout
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE subject = 'user:1'"))
    bad = subprocess.run(
        [sys.executable, "-m", "deskwatch", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "TAMPERED at entry 2" in bad.stderr
