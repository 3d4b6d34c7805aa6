"""The server's X25519 keypair for evidence stills: agents seal to the public key, and only
this server opens them. The private key comes from ``DESKWATCH_SNAPSHOT_KEY`` or a 0600 file
next to the secret key file, generated once (race-safe across processes and threads). A key
file that group or others may read is refused: the key may have been copied."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from deskwatch.privacy.sealing import public_key_b64 as encode_public
from deskwatch.server.keyfiles import KeyFileError, kept_secret
from deskwatch.server.settings import Settings

__all__ = ["KeyFileError", "key_file", "private_key", "public_key_b64"]

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
    def fresh() -> str:
        return base64.b64encode(X25519PrivateKey.generate().private_bytes(*_RAW_PRIVATE)).decode()

    return kept_secret(Path(path_text), fresh)
