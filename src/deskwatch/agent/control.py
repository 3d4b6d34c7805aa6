"""Pause / resume, shared by the CLI, the local page and the runner through a state file."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from deskwatch.agent.config import ensure_dir
from deskwatch.files import write_private

CONTROL = "control.json"
CHECK_REQUEST = "self_check.request"


@dataclass(frozen=True)
class PauseState:
    paused: bool
    since: float | None = None  # wall-clock seconds (time.time()) when the pause began

    def paused_for_s(self, now: float | None = None) -> float | None:
        if not self.paused or self.since is None:
            return None
        return max(0.0, (now if now is not None else time.time()) - self.since)


class Control:
    """The pause switch; no reason is ever asked or stored."""

    def __init__(self, directory: Path) -> None:
        self.path = ensure_dir(directory) / CONTROL
        self.check_path = directory / CHECK_REQUEST
        self._cache: tuple[tuple[int, int], PauseState] | None = None

    def state(self) -> PauseState:
        """The current state; re-read only when the file changed."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return PauseState(False)
        key = (st.st_mtime_ns, st.st_ino)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        try:
            data = json.loads(self.path.read_text())
            state = PauseState(bool(data.get("paused")), data.get("since"))
        except (OSError, ValueError):
            state = PauseState(False)
        self._cache = (key, state)
        return state

    def pause(self) -> PauseState:
        current = self.state()
        if current.paused:
            return current
        return self._write(PauseState(True, time.time()))

    def resume(self) -> PauseState:
        return self._write(PauseState(False))

    def request_check(self) -> None:
        """Ask the running agent for a self-check (from the CLI or the worker's page)."""
        write_private(self.check_path, str(time.time()))

    def take_check_request(self) -> bool:
        """True once per request."""
        try:
            self.check_path.unlink()
        except FileNotFoundError:
            return False
        return True

    def _write(self, state: PauseState) -> PauseState:
        write_private(self.path, json.dumps({"paused": state.paused, "since": state.since}))
        self._cache = None
        return state
