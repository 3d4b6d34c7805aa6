"""The audit log is HMAC-chained with a key outside the database and has a head record
outside it too: an edit, a deletion anywhere (the newest entries and the whole log
included), a recomputed chain and a forged retention marker are all detected, on SQLite
and PostgreSQL. Each tamper is done the way an attacker with database access would: SQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.chain import AuditChain, AuditKeyError, Head, attach, key_file
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.service import PRUNED, Verification, record, verify
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.migrate import upgrade
from deskwatch.server.settings import Settings
from tests.server.conftest import Org
from tests.server.helpers import server_cli

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


def _check(db: sessionmaker[Session]) -> Verification:
    with db() as s:
        return verify(s)


def _verify(db: sessionmaker[Session]) -> tuple[bool, int | None, str]:
    result = _check(db)
    return result.intact, result.broken_at, result.reason


def _sql(db: sessionmaker[Session], sql: str, **params: object) -> None:
    with db() as s:
        s.execute(text(sql), params)
        s.commit()


def test_intact_chain_verifies(db: sessionmaker[Session], org: Org) -> None:
    _write(db, org)
    assert _check(db) == Verification(5)


def test_an_edited_entry_is_detected(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    _sql(db, "UPDATE audit_log SET subject = 'agent:999' WHERE id = :id", id=ids[2])
    assert _verify(db) == (False, ids[2], "its content was changed")


def test_a_deleted_entry_is_detected(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    _sql(db, "DELETE FROM audit_log WHERE id = :id", id=ids[2])
    assert _verify(db) == (False, ids[3], "the entry before it was deleted or changed")


def test_a_rewritten_hash_still_breaks_the_next_link(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    _sql(db, "UPDATE audit_log SET subject = 'x', hash = :h WHERE id = :id", h="f" * 64, id=ids[1])
    assert _verify(db)[1] == ids[1]


def _sha_chain(rows: list[AuditEntry]) -> list[tuple[int, str, str]]:
    """The whole chain recomputed the way anyone can: SHA-256 without a key."""
    prev, out = "0" * 64, []
    for e in rows:
        content = {
            "prev": prev,
            "at": e.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": e.actor_id,
            "action": e.action,
            "subject": e.subject,
            "detail": e.detail,
        }
        digest = hashlib.sha256(
            json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        out.append((e.id, prev, digest))
        prev = digest
    return out


def test_a_chain_recomputed_without_the_key_is_detected(
    db: sessionmaker[Session], org: Org
) -> None:
    ids = _write(db, org)
    _sql(db, "UPDATE audit_log SET subject = 'agent:999' WHERE id = :id", id=ids[2])
    with db() as s:
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        for entry_id, prev, digest in _sha_chain(rows):
            s.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                {"p": prev, "h": digest, "id": entry_id},
            )
        s.commit()
    assert _verify(db) == (False, ids[0], "its content was changed")


def test_deleting_the_newest_entries_is_detected(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    _sql(db, "DELETE FROM audit_log WHERE id >= :id", id=ids[3])
    ok, broken_at, reason = _verify(db)
    assert (ok, broken_at) == (False, ids[4])
    assert reason == f"the newest entries, after #{ids[2]} up to #{ids[4]}, were deleted"


def test_deleting_every_entry_is_detected(db: sessionmaker[Session], org: Org) -> None:
    ids = _write(db, org)
    _sql(db, "DELETE FROM audit_log")
    assert _verify(db) == (
        False,
        ids[4],
        f"the newest entries, after the start up to #{ids[4]}, were deleted",
    )


def test_appending_after_a_truncation_does_not_hide_it(db: sessionmaker[Session], org: Org) -> None:
    """The head moves on only from an entry the log still holds (SQLite even reuses ids)."""
    ids = _write(db, org)
    _sql(db, "DELETE FROM audit_log WHERE id >= :id", id=ids[3])
    _write(db, org, n=3)
    result = _check(db)
    assert not result.intact and result.broken_at == ids[4]


def test_a_forged_retention_marker_does_not_excuse_a_deleted_start(
    db: sessionmaker[Session], org: Org
) -> None:
    """The attacker deletes entries 1..k and writes the marker a purge would have written."""
    ids = _write(db, org)
    with db() as s:
        k = s.get(AuditEntry, ids[2])
        newest = s.get(AuditEntry, ids[4])
        assert k is not None and newest is not None
        marker = AuditEntry(
            at=T0 + timedelta(minutes=5),
            actor_id=None,
            action=PRUNED,
            subject="retention",
            detail={"audit_entries": 3, "through_id": k.id, "last_hash": k.hash},
            prev_hash=newest.hash,
            hash=hashlib.sha256(b"whatever the attacker computes").hexdigest(),
        )
        s.add(marker)
        s.flush()
        s.execute(text("DELETE FROM audit_log WHERE id <= :id"), {"id": k.id})
        s.commit()
        forged = marker.id
    assert _verify(db) == (False, forged, "a retention marker the server did not write")


def test_a_changed_or_missing_head_record_fails(
    db: sessionmaker[Session], org: Org, settings: Settings
) -> None:
    _write(db, org)
    chain = AuditChain.from_settings(settings)
    saved = chain.head_path.read_text()
    chain.head_path.write_text(saved.replace('"id": ', '"id": 1'))
    result = _check(db)
    assert not result.intact and "does not match: it was changed" in result.reason
    chain.head_path.unlink()
    assert _check(db).reason == f"no head record at {chain.head_path}"
    chain.head_path.write_text(saved)
    assert _check(db).intact


def test_rolled_back_appends_never_move_the_head(db: sessionmaker[Session], org: Org) -> None:
    _write(db, org, n=2)
    with db() as s:
        record(s, actor=org.admin, action="login", subject="user:1", now=T0)
        s.rollback()
    with db() as s:  # an append in a savepoint that is rolled back, the rest committed
        with pytest.raises(ValueError), s.begin_nested():
            record(s, actor=org.admin, action="login", subject="user:2", now=T0)
            raise ValueError
        record(s, actor=org.admin, action="login", subject="user:3", now=T0)
        s.commit()
    assert _check(db) == Verification(3)


def test_the_head_only_moves_forward(tmp_path: Path) -> None:
    chain = AuditChain(b"k" * 32, tmp_path / "head")
    chain.advance(Head(5, "a" * 64))
    chain.advance(Head(3, "b" * 64))  # a slower process committing an older entry
    assert chain.head() == Head(5, "a" * 64)
    assert (tmp_path / "head").stat().st_mode & 0o777 == 0o600


def test_the_key_is_kept_outside_the_database(tmp_path: Path) -> None:
    settings = Settings(secret_key_file=tmp_path / "deskwatch.secret")
    with pytest.raises(AuditKeyError, match="no audit key"):
        AuditChain.from_settings(settings, create=False)
    first = AuditChain.from_settings(settings)
    assert key_file(settings).stat().st_mode & 0o777 == 0o600
    assert AuditChain.from_settings(settings, create=False).key == first.key
    configured = Settings(audit_key="an operator's key of enough length", secret_key_file=tmp_path)
    assert AuditChain.from_settings(configured).key != first.key


def _old_database(tmp_path: Path) -> str:
    """A database at 0003 whose three entries 0002 chained with plain SHA-256."""
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
    upgrade(engine, "0003")
    engine.dispose()
    return url


def _cli(url: str, settings_dir: Path) -> subprocess.CompletedProcess[str]:
    return server_cli(settings_dir / "server.secret", "audit", "verify", "--database-url", url)


def test_upgrade_rechains_with_the_key_and_the_command_verifies(tmp_path: Path) -> None:
    url = _old_database(tmp_path)
    engine = make_engine(url)
    with pytest.raises(RuntimeError, match="re-chains the audit log with the server's audit key"):
        upgrade(engine)  # no key: the entries cannot be re-chained, nothing changes
    chain = AuditChain.from_settings(Settings(secret_key_file=tmp_path / "server.secret"))
    upgrade(engine, audit=chain)
    sessions = attach(session_factory(engine), chain)
    with sessions() as s:
        assert verify(s) == Verification(4)
        rekeyed = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit:rekeyed")).one()
        assert rekeyed.detail == {"entries": 3, "sha256_chain": "intact"}
    ok = _cli(url, tmp_path)
    assert ok.returncode == 0 and "intact: 4 entries" in ok.stdout, ok.stderr
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE subject = 'user:1'"))
    bad = _cli(url, tmp_path)
    assert bad.returncode == 1 and "TAMPERED at entry 2: its content was changed" in bad.stderr
    elsewhere = _cli(url, tmp_path / "nowhere")  # no key where the command looks: not made
    assert elsewhere.returncode == 2 and "no audit key" in elsewhere.stderr
    assert not (tmp_path / "nowhere").exists()
    engine.dispose()


def test_upgrade_keeps_the_news_of_an_old_edit(tmp_path: Path) -> None:
    """Re-keying must not launder an edit made to the SHA-256 chain before it."""
    url = _old_database(tmp_path)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET subject = 'user:9' WHERE subject = 'user:1'"))
    chain = AuditChain.from_settings(Settings(secret_key_file=tmp_path / "server.secret"))
    upgrade(engine, audit=chain)
    with attach(session_factory(engine), chain)() as s:
        rekeyed = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit:rekeyed")).one()
        assert rekeyed.detail["sha256_chain"] == "broken at entry 2"
    engine.dispose()
