"""The ``deskwatch[identity]`` extra: its packages are imported only when needed."""

from __future__ import annotations

import importlib
from typing import Any

from deskwatch.errors import DeskwatchError

DESCRIPTOR_SIZE = 128
EXTRA_HINT = "face identity checks need the extra: pip install 'deskwatch[identity]'"


class IdentityUnavailableError(DeskwatchError):
    """dlib, its model files or cryptography are missing."""


def require(name: str) -> Any:
    """Import ``name`` from the extra, or say clearly how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise IdentityUnavailableError(f"{EXTRA_HINT} ({exc})") from None
