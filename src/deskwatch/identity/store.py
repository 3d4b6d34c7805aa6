"""The worker's template, encrypted at rest (AES-256-GCM), and their choice.

The key lives in its own 0600 file next to the template, and the cipher's associated data
names the device and the worker, so the template opens only with that key and only in the
agent state of that device and worker. What this does and does not protect against is said
in the README's "Identity check" section. Deleting removes both files. Nothing here is ever
uploaded. One lock orders every write, so the page's and the loop's threads never interleave.
"""

from __future__ import annotations

import enum
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from deskwatch.agent.config import ensure_dir
from deskwatch.errors import DeskwatchError
from deskwatch.files import write_private, write_private_bytes
from deskwatch.identity.extra import DESCRIPTOR_SIZE, EXTRA_HINT, IdentityUnavailableError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TEMPLATE = "identity.template"
KEY = "identity.key"
CHOICE = "identity.choice"
OPEN = "identity.open"  # a check or prompt is open: if the agent dies, the next run says so
_NONCE_BYTES = 12
_AAD = b"deskwatch identity template v2\n"


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


def owner_of(device_id: str, agent_id: int) -> str:
    """The identity a template is bound to: this device, enrolled for this worker."""
    return f"device:{device_id}/agent:{agent_id}"


class TemplateStore:
    """Template, key and choice files in the agent's state directory.

    ``owner`` (see ``owner_of``) is needed to save or open a template; choosing, deleting
    and the status work without it.
    """

    def __init__(self, directory: Path, owner: str | None = None) -> None:
        self.dir = directory
        self.owner = owner
        self.template_path = directory / TEMPLATE
        self.key_path = directory / KEY
        self.choice_path = directory / CHOICE
        self.open_path = directory / OPEN
        self.lock = threading.RLock()

    def status(self) -> StoreStatus:
        with self.lock:
            enrolled = self.template_path.exists() and self.key_path.exists()
            return StoreStatus(self.choice(), enrolled)

    def choice(self) -> Choice:
        try:
            return Choice(self.choice_path.read_text().strip())
        except (OSError, ValueError):
            return Choice.NONE

    def set_choice(self, choice: Choice) -> None:
        with self.lock:
            write_private(ensure_dir(self.dir) / CHOICE, choice.value)

    def save(self, descriptors: NDArray[np.float32]) -> None:
        """Encrypt and store ``descriptors`` (N×128) with a fresh key; the choice is face."""
        if descriptors.ndim != 2 or descriptors.shape[1] != DESCRIPTOR_SIZE:
            raise ValueError(f"descriptors must be N×{DESCRIPTOR_SIZE}, got {descriptors.shape}")
        aad = self._aad()
        key = os.urandom(32)  # AES-256
        nonce = os.urandom(_NONCE_BYTES)
        plain = descriptors.astype("<f4").tobytes()
        sealed = nonce + _cipher(key).encrypt(nonce, plain, aad)
        with self.lock:
            ensure_dir(self.dir)
            write_private(self.key_path, key.hex())
            write_private_bytes(self.template_path, sealed)
            self.set_choice(Choice.FACE)

    def load(self) -> NDArray[np.float32]:
        """The decrypted descriptors (N×128); TemplateError if missing or undecryptable."""
        aad = self._aad()
        try:
            with self.lock:
                key = bytes.fromhex(self.key_path.read_text().strip())
                sealed = self.template_path.read_bytes()
        except FileNotFoundError:
            raise TemplateError("no identity template on this PC") from None
        except (OSError, ValueError) as exc:
            raise TemplateError(f"cannot read the identity template: {exc}") from None
        from cryptography.exceptions import InvalidTag

        try:
            plain = _cipher(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            raise TemplateError(
                "the identity template does not open with this key on this device"
            ) from None
        return np.frombuffer(plain, dtype="<f4").reshape(-1, DESCRIPTOR_SIZE).astype(np.float32)

    def delete(self, choice: Choice = Choice.NONE) -> bool:
        """Remove template and key; True if there was a template."""
        with self.lock:
            had = self.template_path.exists()
            for path in (self.template_path, self.key_path):
                path.unlink(missing_ok=True)
            self.set_choice(choice)
            return had

    def mark_open(self, method: str | None) -> None:
        """Note which method's check is open (None: none), so a crash cannot hide it."""
        with self.lock:
            if method is None:
                self.open_path.unlink(missing_ok=True)
            else:
                write_private(ensure_dir(self.dir) / OPEN, method)

    def take_open(self) -> str | None:
        """The method of a check the last run left open (and forget it)."""
        with self.lock:
            try:
                method = self.open_path.read_text().strip()
            except OSError:
                return None
            self.open_path.unlink(missing_ok=True)
            return method if method in ("face", "password") else None

    def _aad(self) -> bytes:
        if not self.owner:
            raise TemplateError("this PC's agent is not enrolled with a server: no template")
        return _AAD + self.owner.encode()


def _cipher(key: bytes) -> AESGCM:
    """AES-GCM from ``cryptography`` (part of the identity extra), imported when needed."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise IdentityUnavailableError(EXTRA_HINT) from None
    return AESGCM(key)
