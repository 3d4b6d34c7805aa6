"""Pause / resume, shared by the CLI, the local page and the runner through a state file;
and the local page's client side (``PageClient``: what the tray app uses), so the page's
address, token and paths are spelled in one place."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deskwatch.agent.config import ensure_dir
from deskwatch.files import write_private

CONTROL = "control.json"
CHECK_REQUEST = "self_check.request"

# The local page's contract: the running agent writes its address and per-process token to
# PAGE_FILE (private to this user, removed when it stops); clients POST the actions with the
# token in TOKEN_HEADER and read the page's plain-words view at VIEW.
PAGE_FILE = "page.json"
PAUSE, RESUME, CHECK = "/pause", "/resume", "/check"
VIEW = "/view.json"
TOKEN_HEADER = "x-deskwatch-token"


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


@dataclass(frozen=True)
class PageLink:
    """Where the running agent's page is, and the token its actions need."""

    url: str  # ends with "/"
    token: str


def read_link(directory: Path) -> PageLink | None:
    """The running agent's page (None: no agent runs here, or its file is unreadable)."""
    try:
        data = json.loads((directory / PAGE_FILE).read_text())
        return PageLink(str(data["url"]), str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class PageClient:
    """Talks to the agent's local page over 127.0.0.1 exactly as the page itself does; the
    page file is re-read at each call (the agent may have restarted on a new port)."""

    def __init__(self, directory: Path, timeout_s: float = 2.0) -> None:
        self.directory = directory
        self._http = httpx.Client(timeout=timeout_s, trust_env=False)  # never via a proxy

    def link(self) -> PageLink | None:
        return read_link(self.directory)

    def view(self) -> dict[str, Any] | None:
        """The page's view in plain words; None when no agent answers."""
        link = self.link()
        if link is None:
            return None
        return self._json(lambda: self._http.get(link.url + VIEW.lstrip("/")))

    def pause(self) -> dict[str, Any] | None:
        return self._act(PAUSE)

    def resume(self) -> dict[str, Any] | None:
        return self._act(RESUME)

    def close(self) -> None:
        self._http.close()

    def _act(self, action: str) -> dict[str, Any] | None:
        """Post one action; the view after it (None when no agent answered)."""
        link = self.link()
        if link is None:
            return None
        headers = {TOKEN_HEADER: link.token}
        return self._json(lambda: self._http.post(link.url + action.lstrip("/"), headers=headers))

    @staticmethod
    def _json(call: Callable[[], httpx.Response]) -> dict[str, Any] | None:
        try:
            reply = call()
        except httpx.HTTPError:
            return None
        if reply.status_code != 200:
            return None
        try:
            data = reply.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
