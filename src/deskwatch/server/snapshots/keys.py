"""The server's X25519 keypair for evidence stills: agents seal to the public key, and only
this server opens them. The private key comes from ``DESKWATCH_SNAPSHOT_KEY`` or a 0600 file
next to the secret key file, generated once (race-safe across processes and threads). A key
file that group or others may read is refused: the key may have been copied."""

from __future__ import annotations

import base64
import contextlib
import os
import stat
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from deskwatch.errors import DeskwatchError
from deskwatch.privacy.sealing import public_key_b64 as encode_public
from deskwatch.server.settings import Settings

_RAW_PRIVATE = (
    serialization.Encoding.Raw,
    serialization.PrivateFormat.Raw,
    serialization.NoEncryption(),
)


class KeyFileError(DeskwatchError):
    """The snapshot key file is unsafe to use."""


def key_file(settings: Settings) -> Path:
    """Where the generated private key is kept: beside ``secret_key_file``."""
    path = settings.secret_key_file
    return path.with_name(path.name + ".snapshot-key")


def private_key(settings: Settings) -> X25519PrivateKey:
    """The configured private key, else the one in ``key_file`` (created once)."""
    if settings.snapshot_key:
        return _decode(settings.snapshot_key)
    return _decode(_kept_key(str(key_file(settings).resolve())))


def public_key_b64(settings: Settings) -> str:
    """The public key agents seal stills to (base64 of its 32 raw bytes)."""
    return encode_public(private_key(settings).public_key())


def _decode(text: str) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))


@lru_cache(maxsize=4)
def _kept_key(path_text: str) -> str:
    path = Path(path_text)
    if not path.exists():
        _create(path)
    _check_private(path)
    return path.read_text().strip()


def _create(path: Path) -> None:
    """Write a new key under a unique temporary name (mkstemp: 0600, never shared by two
    threads or by a restart with the same pid), then link it into place."""
    fresh = X25519PrivateKey.generate().private_bytes(*_RAW_PRIVATE)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(fresh).decode())
        # link() fails if another process or thread got there first: then theirs is the key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path} is readable by others (mode {mode:04o}): the private key for evidence "
            f"stills may have been copied. Run `chmod 600 {path}` if you are sure it was not, "
            "or delete it to make a new key (stills sealed to the old key can then no longer "
            "be opened)."
        )
