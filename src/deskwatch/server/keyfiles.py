"""Secrets the server keeps in files of their own (session signing, evidence stills, the
audit chain): made once, race-safe across processes and threads, readable by the owner only.

A file that group or others may read is refused: the secret in it may have been copied.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from deskwatch.errors import DeskwatchError


class KeyFileError(DeskwatchError):
    """A key file is unsafe to use."""


def kept_secret(path: Path, make: Callable[[], str], *, create: bool = True) -> str:
    """The secret in ``path``; made with ``make`` first if the file does not exist (and
    ``create``: else FileNotFoundError). KeyFileError if others may read the file."""
    if not path.exists():
        if not create:
            raise FileNotFoundError(path)
        _create(path, make())
    _check_private(path)
    return path.read_text().strip()


def _create(path: Path, secret: str) -> None:
    """Write under a unique temporary name (mkstemp: 0600, never shared by two threads or
    by a restart with the same pid), then link it into place: link() fails if another
    process or thread got there first, and then theirs is the secret."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secret)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path} is readable by others (mode {mode:04o}): the secret in it may have been "
            f"copied. Run `chmod 600 {path}` if you are sure it was not, or delete it to make "
            "a new one (for evidence stills: those sealed to the old key can then no longer "
            "be opened; for the audit chain: run `deskwatch audit verify` first)."
        )
