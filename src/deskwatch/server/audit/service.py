"""Recording, reading and verifying the audit log: append-only and HMAC-chained.

Each entry's hash is an HMAC (key outside the database, ``chain.py``) of its content and the
previous entry's hash. ``verify`` finds an edited entry (its own hash), a deleted one (its
successor's link), deleted newest entries (the head record outside the database) and a
forged retention marker (its hash)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, String, cast, delete, event, func, or_, select
from sqlalchemy.orm import Session, SessionTransaction

from deskwatch.server.audit.chain import AuditChain, Head, HeadError, chain_of
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.schemas import AuditFilter, ChainState
from deskwatch.server.db import serialise

log = logging.getLogger(__name__)


class Actor(Protocol):
    """Who did it: a user (the audit log sits below the users' domain and needs the id)."""

    @property
    def id(self) -> int: ...


GENESIS = "0" * 64
_FIRST = "deskwatch.audit_first"  # Session.info: this transaction's first entry
_HEAD = "deskwatch.audit_head"  # Session.info: the head to write once committed


class Subscriber(Protocol):
    """Called with each new entry, in its transaction (integrations queue it for sinks)."""

    def __call__(self, session: Session, *, entry: AuditEntry) -> None: ...


_SUBSCRIBERS: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Have ``subscriber`` called with every entry appended from now on (once each)."""
    if subscriber not in _SUBSCRIBERS:
        _SUBSCRIBERS.append(subscriber)


def entry_hash(chain: AuditChain, prev_hash: str, entry: AuditEntry) -> str:
    """HMAC-SHA256 of the previous hash and this entry's content, canonically serialised."""
    content = {
        "prev": prev_hash,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor_id,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return chain.mac(canonical.encode())


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    subject: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry chained to the last one (appends are serialised); the head record
    follows once the transaction commits."""
    chain = chain_of(session)
    serialise(session, "deskwatch_audit")  # one appender at a time
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        at=now,
        actor_id=actor.id if actor else None,
        action=action,
        subject=subject,
        detail=detail or {},
        prev_hash=last or GENESIS,
    )
    entry.hash = entry_hash(chain, entry.prev_hash, entry)
    session.add(entry)
    session.flush()  # the next append in this transaction chains to it
    session.info.setdefault(_FIRST, entry.id)
    for subscriber in _SUBSCRIBERS:
        subscriber(session, entry=entry)
    return entry


@event.listens_for(Session, "before_commit")
def _note_head(session: Session) -> None:
    """Before a commit that appended, choose the head to write once it is committed: the
    newest entry (ours: appends hold the lock). The head moves on only from an entry the log
    still holds, so after a truncation it keeps naming what was deleted."""
    first = None if session.in_nested_transaction() else session.info.pop(_FIRST, None)
    if first is None:
        return
    chain = chain_of(session)
    newest = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    try:
        head = chain.head()
    except HeadError as exc:
        log.error("audit head kept as it is: %s", exc)
        return
    if head is None:
        older = select(AuditEntry.id).where(AuditEntry.id < first).limit(1)
        if session.scalar(older) is not None:
            log.error("audit log has entries but no head record at %s", chain.head_path)
            return
    elif not _holds(session, chain, head):
        log.error("audit log no longer holds its head entry #%s: kept", head.entry_id)
        return
    if newest is not None:
        session.info[_HEAD] = Head(int(newest.id), str(newest.hash))


@event.listens_for(Session, "after_commit")
def _write_head(session: Session) -> None:
    head = None if session.in_nested_transaction() else session.info.pop(_HEAD, None)
    if isinstance(head, Head):
        chain_of(session).advance(head)


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back (or closed) transaction leaves nothing for the next one."""
    if transaction.parent is None:
        session.info.pop(_FIRST, None)
        session.info.pop(_HEAD, None)


PRUNED = "audit:pruned"  # the retention purge's entry; its detail anchors the chain's start


@dataclass(frozen=True)
class Verification:
    entries: int
    broken_at: int | None = None  # the first entry found edited, forged or missing
    reason: str = ""  # empty when intact
    pruned_through: int | None = None  # entries up to this id were removed by retention

    @property
    def intact(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class _Anchor:
    """Where the chain starts: GENESIS, or the last entry the latest purge removed."""

    prev_hash: str = GENESIS
    through_id: int | None = None
    forged: int | None = None  # a retention marker whose own HMAC fails


def _anchor(session: Session, chain: AuditChain) -> _Anchor:
    """The latest purge's marker, trusted only if its HMAC holds (nobody without the key
    can write one, so a forged marker cannot excuse deleting the oldest entries)."""
    query = select(AuditEntry).where(AuditEntry.action == PRUNED)
    marker = session.scalar(query.order_by(AuditEntry.id.desc()).limit(1))
    if marker is None:
        return _Anchor()
    if entry_hash(chain, marker.prev_hash, marker) != marker.hash:
        return _Anchor(forged=marker.id)
    return _Anchor(str(marker.detail["last_hash"]), int(marker.detail["through_id"]))


def _holds(session: Session, chain: AuditChain, head: Head) -> bool:
    """The log still holds the head's entry, or a genuine purge removed it."""
    if session.scalar(select(AuditEntry.hash).where(AuditEntry.id == head.entry_id)) == head.hash:
        return True
    through = _anchor(session, chain).through_id
    return through is not None and head.entry_id <= through


def verify(session: Session) -> Verification:
    """Walk the chain from its anchor to the head record (see the module's docstring)."""
    chain = chain_of(session)
    try:
        head = chain.head()
    except HeadError as exc:
        return Verification(0, None, str(exc))
    if head is None and session.scalar(select(AuditEntry.id).limit(1)) is not None:
        return Verification(0, None, f"no head record at {chain.head_path}")
    anchor = _anchor(session, chain)
    if anchor.forged is not None:
        return Verification(0, anchor.forged, "a retention marker the server did not write")
    count, last, expected_prev, seen_head = 0, None, anchor.prev_hash, False
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    for entry in session.scalars(query):
        count += 1
        if entry.prev_hash != expected_prev:
            return Verification(count, entry.id, "the entry before it was deleted or changed")
        if entry_hash(chain, entry.prev_hash, entry) != entry.hash:
            return Verification(count, entry.id, "its content was changed")
        if head is not None and entry.id == head.entry_id:
            if entry.hash != head.hash:
                return Verification(count, entry.id, "it is not the entry the head record names")
            seen_head = True
        expected_prev, last = entry.hash, entry.id
    return _against_head(count, last, head if not seen_head else None, anchor, chain)


def _against_head(
    count: int, last: int | None, missing: Head | None, anchor: _Anchor, chain: AuditChain
) -> Verification:
    """After the walk: the head record's entry must have been seen (``missing`` is the head
    when it was not), unless a genuine purge removed it."""
    if missing is None:
        return Verification(count, pruned_through=anchor.through_id)
    if anchor.through_id is not None and missing.entry_id <= anchor.through_id:
        return Verification(count, pruned_through=anchor.through_id)
    if last is not None and last > missing.entry_id:
        why = f"entry #{missing.entry_id}, the newest when the head record was written, is gone"
    else:
        after = f"#{last}" if last is not None else "the start"
        why = f"the newest entries, after {after} up to #{missing.entry_id}, were deleted"
    return Verification(count, missing.entry_id, why)


def prunable(session: Session, *, before: datetime) -> tuple[int, dict[str, Any]]:
    """The oldest entries, those before the first entry at or after ``before`` (the chain
    loses only a prefix): their count and the anchor (last id and hash) to delete up to."""
    first_kept = select(AuditEntry.id).where(AuditEntry.at >= before)
    boundary = session.scalar(first_kept.order_by(AuditEntry.id).limit(1))
    old = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
    if boundary is not None:
        old = old.where(AuditEntry.id < boundary)
    last = session.scalar(old)
    if last is None:
        return 0, {}
    count = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.id <= last.id))
    return int(count or 0), {"through_id": last.id, "last_hash": last.hash}


def prune_through(session: Session, *, through_id: int) -> int:
    """Delete the entries up to ``through_id``; call after recording the ``audit:pruned``
    entry that names it, so ``verify`` accepts the new start."""
    stmt = delete(AuditEntry).where(AuditEntry.id <= through_id)
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0))


def entries(session: Session, *, limit: int = 500) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))


def _where(filters: AuditFilter) -> list[ColumnElement[bool]]:
    """The filters as SQL conditions (all must hold)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.actor_id is not None:
        actor = AuditEntry.actor_id
        conditions.append(actor.is_(None) if filters.actor_id == 0 else actor == filters.actor_id)
    if filters.action:
        conditions.append(AuditEntry.action == filters.action)
    if filters.subject:  # "agent:12" also finds "agent:12:attendance"
        subject = filters.subject
        conditions.append(
            or_(AuditEntry.subject == subject, AuditEntry.subject.startswith(subject + ":"))
        )
    if filters.start is not None:
        conditions.append(AuditEntry.at >= filters.start)
    if filters.end is not None:
        conditions.append(AuditEntry.at < filters.end)
    if filters.text:
        needle = filters.text.lower()
        found = [
            func.lower(column).contains(needle, autoescape=True)
            for column in (AuditEntry.action, AuditEntry.subject, cast(AuditEntry.detail, String))
        ]
        if filters.text_actors:
            found.append(AuditEntry.actor_id.in_(filters.text_actors))
        conditions.append(or_(*found))
    return conditions


def search(
    session: Session, *, filters: AuditFilter, page: int = 0, per_page: int = 50
) -> tuple[list[AuditEntry], int]:
    """One page of the entries ``filters`` selects, newest first, and how many it selects."""
    conditions = _where(filters)
    total = session.scalar(select(func.count(AuditEntry.id)).where(*conditions)) or 0
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc())
    rows = session.scalars(query.offset(page * per_page).limit(per_page))
    return list(rows), int(total)


def actions(session: Session) -> list[str]:
    """Every action the log holds, for a filter's choices."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def actor_ids(session: Session) -> list[int | None]:
    """Everyone who appears as an actor (None: a device or the server itself)."""
    return list(session.scalars(select(AuditEntry.actor_id).distinct()))


# Up to this many entries the page verifies the whole chain (about a quarter of a second);
# beyond, the entries shown (at most WINDOW_IDS ids), and ``deskwatch audit verify`` the rest.
FULL_VERIFY_MAX = 5_000
WINDOW_IDS = 2_000


def chain_state(session: Session, *, shown: list[AuditEntry]) -> ChainState:
    """The chain's state for a page showing ``shown``: the whole log verified when it is
    small enough, else the window of ids from the oldest to the newest entry shown."""
    total = int(session.scalar(select(func.count(AuditEntry.id))) or 0)
    if total <= FULL_VERIFY_MAX:
        return _state(verify(session), total=total)
    last = max((e.id for e in shown), default=None)
    if last is None:
        last = int(session.scalar(select(func.max(AuditEntry.id))) or 0)
    first = max(min((e.id for e in shown), default=last), last - WINDOW_IDS + 1)
    result = verify_window(session, first_id=first, last_id=last)
    return _state(result, total=total, whole=False, first_id=first, last_id=last)


def _state(result: Verification, *, total: int, **window: Any) -> ChainState:
    """``result`` as the page shows it (``window``: which entries, when not the whole log)."""
    return ChainState(
        intact=result.intact,
        entries=result.entries,
        broken_at=result.broken_at,
        reason=result.reason,
        total=total,
        **window,
    )


def verify_window(session: Session, *, first_id: int, last_id: int) -> Verification:
    """Check the entries from ``first_id`` to ``last_id``: each one's own hash, and each
    one's link to the entry before it (the first's to the entry stored before the window).
    Quicker than ``verify`` on a big log; it does not check the head record."""
    chain = chain_of(session)
    before = select(AuditEntry.hash).where(AuditEntry.id < first_id)
    expected = session.scalar(before.order_by(AuditEntry.id.desc()).limit(1))
    if expected is None:
        expected = _anchor(session, chain).prev_hash
    query = (
        select(AuditEntry)
        .where(AuditEntry.id >= first_id, AuditEntry.id <= last_id)
        .order_by(AuditEntry.id)
        .execution_options(yield_per=1000)
    )
    count = 0
    for entry in session.scalars(query):
        count += 1
        if entry.prev_hash != expected:
            return Verification(count, entry.id, "the entry before it was deleted or changed")
        if entry_hash(chain, entry.prev_hash, entry) != entry.hash:
            return Verification(count, entry.id, "its content was changed")
        expected = entry.hash
    return Verification(count)
