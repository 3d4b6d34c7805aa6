"""The server's X25519 keypair for evidence stills: agents seal to the public key, and only
this server opens them. The private key comes from ``DESKWATCH_SNAPSHOT_KEY`` or a 0600 file
next to the secret key file, generated once (race-safe across worker processes)."""

from __future__ import annotations

import base64
import contextlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from deskwatch.privacy.sealing import public_key_b64 as encode_public
from deskwatch.server.settings import Settings

_RAW_PRIVATE = (
    serialization.Encoding.Raw,
    serialization.PrivateFormat.Raw,
    serialization.NoEncryption(),
)


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
        fresh = X25519PrivateKey.generate().private_bytes(*_RAW_PRIVATE)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(fresh).decode())
        # link() fails if another process got there first: then theirs is the key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    return path.read_text().strip()
