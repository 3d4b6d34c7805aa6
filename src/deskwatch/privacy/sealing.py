"""Sealed boxes for evidence stills: X25519 + HKDF-SHA256 + AES-256-GCM.

The agent seals a redacted JPEG to the server's public key before it leaves the PC; only
the server's private key opens it. Layout: version (1 byte) | ephemeral public key (32) |
nonce (12) | ciphertext with its 16-byte tag. The header and a caller's ``context`` (the
event id) are authenticated, so a sealed still cannot be moved to another event.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from deskwatch.errors import DeskwatchError

VERSION = 1
KEY_BYTES, NONCE_BYTES, TAG_BYTES = 32, 12, 16
HEADER_BYTES = 1 + KEY_BYTES + NONCE_BYTES
MIN_SEALED_BYTES = HEADER_BYTES + TAG_BYTES
_INFO = b"deskwatch snapshot v1"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class SealError(DeskwatchError):
    """A sealed box that is malformed, for another key, or altered."""


def public_key_from_b64(text: str) -> X25519PublicKey:
    """A public key from its base64 raw form (as the server publishes it)."""
    try:
        return X25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError as exc:
        raise SealError(f"not an X25519 public key: {exc}") from None


def public_key_b64(key: X25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(*_RAW)).decode()


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + ephemeral + recipient)
    return hkdf.derive(shared)


def seal(plaintext: bytes, recipient: X25519PublicKey, context: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` so only ``recipient``'s private key opens it."""
    ephemeral = X25519PrivateKey.generate()
    eph_pub = ephemeral.public_key().public_bytes(*_RAW)
    key = _key(ephemeral.exchange(recipient), eph_pub, recipient.public_bytes(*_RAW))
    nonce = os.urandom(NONCE_BYTES)
    header = bytes([VERSION]) + eph_pub + nonce
    return header + AESGCM(key).encrypt(nonce, plaintext, header + context)


def check_shape(sealed: bytes) -> None:
    """Raise SealError unless ``sealed`` looks like a sealed box of this version."""
    if len(sealed) < MIN_SEALED_BYTES:
        raise SealError(f"sealed box too short ({len(sealed)} bytes)")
    if sealed[0] != VERSION:
        raise SealError(f"unknown sealed box version {sealed[0]}")


def unseal(sealed: bytes, private: X25519PrivateKey, context: bytes = b"") -> bytes:
    """The plaintext, or SealError if the box is malformed, altered or for another key."""
    check_shape(sealed)
    eph_pub = sealed[1 : 1 + KEY_BYTES]
    nonce = sealed[1 + KEY_BYTES : HEADER_BYTES]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError as exc:
        raise SealError(f"bad ephemeral key: {exc}") from None
    key = _key(shared, eph_pub, private.public_key().public_bytes(*_RAW))
    try:
        return AESGCM(key).decrypt(nonce, sealed[HEADER_BYTES:], sealed[:HEADER_BYTES] + context)
    except InvalidTag:
        raise SealError("sealed box does not open with this key (or was altered)") from None
