"""The audit log's key and head record, both kept outside the database.

Each entry's hash is an HMAC-SHA256 under a key the database never holds, so someone who can
write to the database cannot recompute the chain after editing it. The head record names
the newest entry written (its id and hash, with an HMAC of its own) in a file beside the
key, advanced after every commit that appended: deleting the newest entries, or all of
them, leaves the head naming an entry that is gone.

Why a file and not a signed row: a row lives in the database, so whoever deleted the newest
entries could also put back an earlier head row (with its valid MAC) copied before. The
file is out of a database writer's reach. It is written after the commit, so it never names
an entry that was rolled back; a process killed between the commit and the write leaves the
head a few entries behind (those few are then not covered), never ahead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from deskwatch.files import write_private
from deskwatch.server.keyfiles import kept_secret
from deskwatch.server.settings import Settings

log = logging.getLogger(__name__)
INFO_KEY = "deskwatch.audit_chain"  # where a session finds its chain (``Session.info``)


class AuditKeyError(Exception):
    """No audit key is configured (or the key file is missing where one must exist)."""


class HeadError(Exception):
    """The head record cannot be read, or its MAC does not match (it was changed)."""


@dataclass(frozen=True)
class Head:
    """The newest audit entry written: its id and hash."""

    entry_id: int
    hash: str


def key_file(settings: Settings) -> Path:
    """The generated key's file: beside ``secret_key_file``."""
    path = settings.secret_key_file
    return path.with_name(path.name + ".audit-key")


def head_file(settings: Settings) -> Path:
    path = settings.secret_key_file
    return settings.audit_head_file or path.with_name(path.name + ".audit-head")


class AuditChain:
    """The key that hashes the chain, and the head record it keeps."""

    def __init__(self, key: bytes, head_path: Path) -> None:
        if len(key) < 16:
            raise AuditKeyError("the audit key must be at least 16 bytes")
        self.key, self.head_path = key, head_path
        self._lock_path = head_path.with_name(head_path.name + ".lock")

    @classmethod
    def from_settings(cls, settings: Settings, *, create: bool = True) -> AuditChain:
        """``audit_key``, else the key file (made once, 0600, when ``create``)."""
        if settings.audit_key:
            return cls(settings.audit_key.encode(), head_file(settings))
        path = key_file(settings)
        try:
            key = kept_secret(path, lambda: secrets.token_urlsafe(48), create=create)
        except FileNotFoundError:
            raise AuditKeyError(
                f"no audit key at {path}: set DESKWATCH_AUDIT_KEY or "
                "DESKWATCH_SECRET_KEY_FILE as the server has them (the server makes the "
                "key when it first starts)"
            ) from None
        return cls(key.encode(), head_file(settings))

    def mac(self, message: bytes) -> str:
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def _head_mac(self, head: Head) -> str:
        return self.mac(f"head:{head.entry_id}:{head.hash}".encode())

    def head(self) -> Head | None:
        """The head record; None if none was ever written. HeadError if it was changed."""
        try:
            text = self.head_path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise HeadError(f"cannot read {self.head_path}: {exc}") from None
        try:
            data = json.loads(text)
            head, mac = Head(int(data["id"]), str(data["hash"])), str(data["mac"])
        except (ValueError, KeyError, TypeError):
            raise HeadError(f"{self.head_path} is not a head record") from None
        if not hmac.compare_digest(mac, self._head_mac(head)):
            raise HeadError(f"the MAC of {self.head_path} does not match: it was changed")
        return head

    def advance(self, head: Head) -> None:
        """Record ``head`` unless the file already names a newer entry (processes take turns).

        A head record that fails its MAC is left as it is: it is evidence for ``verify``."""
        with self._locked():
            try:
                current = self.head()
            except HeadError as exc:
                log.error("audit head not advanced: %s", exc)
                return
            if current is not None and current.entry_id >= head.entry_id:
                return
            body = {"id": head.entry_id, "hash": head.hash, "mac": self._head_mac(head)}
            write_private(self.head_path, json.dumps(body))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def attach(sessions: sessionmaker[Session], chain: AuditChain) -> sessionmaker[Session]:
    """Make every session of ``sessions`` append to (and verify) the chain with ``chain``."""
    sessions.configure(info={**sessions.kw.get("info", {}), INFO_KEY: chain})
    return sessions


def chain_of(session: Session) -> AuditChain:
    chain = session.info.get(INFO_KEY)
    if not isinstance(chain, AuditChain):
        raise AuditKeyError(
            "this session has no audit key: build its factory with "
            "deskwatch.server.audit.chain.attach (the app and the commands do)"
        )
    return chain
