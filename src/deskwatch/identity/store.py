"""The worker's template, encrypted at rest (AES-256-GCM), and their choice.

The key lives in its own 0600 file next to the template; without it the template is noise.
Deleting removes both. Nothing here is ever uploaded.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from deskwatch.agent.config import ensure_dir, write_private
from deskwatch.errors import DeskwatchError
from deskwatch.identity.extra import DESCRIPTOR_SIZE, EXTRA_HINT, IdentityUnavailableError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TEMPLATE = "identity.template"
KEY = "identity.key"
CHOICE = "identity.choice"
_NONCE_BYTES = 12
_AAD = b"deskwatch identity template v1"


class TemplateError(DeskwatchError):
    """The template is missing, or cannot be decrypted with the key."""


class Choice(enum.StrEnum):
    """What the worker chose on their page: nothing yet, a face template, or a password."""

    NONE = "none"
    FACE = "face"
    PASSWORD = "password"


@dataclass(frozen=True)
class StoreStatus:
    choice: Choice
    enrolled: bool


class TemplateStore:
    """Template, key and choice files in the agent's state directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.template_path = directory / TEMPLATE
        self.key_path = directory / KEY
        self.choice_path = directory / CHOICE

    def status(self) -> StoreStatus:
        enrolled = self.template_path.exists() and self.key_path.exists()
        return StoreStatus(self.choice(), enrolled)

    def choice(self) -> Choice:
        try:
            return Choice(self.choice_path.read_text().strip())
        except (OSError, ValueError):
            return Choice.NONE

    def set_choice(self, choice: Choice) -> None:
        write_private(ensure_dir(self.dir) / CHOICE, choice.value)

    def save(self, descriptors: NDArray[np.float32]) -> None:
        """Encrypt and store ``descriptors`` (N×128) with a fresh key; the choice is face."""
        if descriptors.ndim != 2 or descriptors.shape[1] != DESCRIPTOR_SIZE:
            raise ValueError(f"descriptors must be N×{DESCRIPTOR_SIZE}, got {descriptors.shape}")
        ensure_dir(self.dir)
        key = os.urandom(32)  # AES-256
        nonce = os.urandom(_NONCE_BYTES)
        plain = descriptors.astype("<f4").tobytes()
        sealed = nonce + _cipher(key).encrypt(nonce, plain, _AAD)
        write_private(self.key_path, key.hex())
        _write_private_bytes(self.template_path, sealed)
        self.set_choice(Choice.FACE)

    def load(self) -> NDArray[np.float32]:
        """The decrypted descriptors (N×128); TemplateError if missing or undecryptable."""
        try:
            key = bytes.fromhex(self.key_path.read_text().strip())
            sealed = self.template_path.read_bytes()
        except FileNotFoundError:
            raise TemplateError("no identity template on this PC") from None
        except (OSError, ValueError) as exc:
            raise TemplateError(f"cannot read the identity template: {exc}") from None
        from cryptography.exceptions import InvalidTag

        try:
            plain = _cipher(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _AAD)
        except (InvalidTag, ValueError):
            raise TemplateError("the identity template does not open with this key") from None
        return np.frombuffer(plain, dtype="<f4").reshape(-1, DESCRIPTOR_SIZE).astype(np.float32)

    def delete(self, choice: Choice = Choice.NONE) -> bool:
        """Remove template and key; True if there was a template."""
        had = self.template_path.exists()
        for path in (self.template_path, self.key_path):
            path.unlink(missing_ok=True)
        self.set_choice(choice)
        return had


def _cipher(key: bytes) -> AESGCM:
    """AES-GCM from ``cryptography`` (part of the identity extra), imported when needed."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise IdentityUnavailableError(EXTRA_HINT) from None
    return AESGCM(key)


def _write_private_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
