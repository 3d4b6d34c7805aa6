"""The server's key files (session signing, audit chain): made once with mode 0600, the
same key for every thread, and refused when others may read them."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from deskwatch.server.audit.chain import AuditChain, key_file
from deskwatch.server.keyfiles import KeyFileError
from deskwatch.server.settings import Settings


def test_signing_and_audit_keys_are_made_once_and_private(tmp_path: Path) -> None:
    settings = Settings(secret_key_file=tmp_path / "deskwatch.secret")
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(settings.signing_key())) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    chains = [AuditChain.from_settings(settings).key for _ in range(2)]
    assert chains[0] == chains[1] and chains[0].decode() != keys[0]
    for path in (settings.secret_key_file, key_file(settings)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


@pytest.mark.parametrize("which", ["signing", "audit"])
def test_a_key_file_others_may_read_is_refused(tmp_path: Path, which: str) -> None:
    settings = Settings(secret_key_file=tmp_path / "deskwatch.secret")
    settings.signing_key()
    AuditChain.from_settings(settings)
    path = settings.secret_key_file if which == "signing" else key_file(settings)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"readable by others \(mode 0644\)"):
        settings.signing_key() if which == "signing" else AuditChain.from_settings(settings)
