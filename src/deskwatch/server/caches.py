"""The device API's per-process caches, filled in bulk so a heartbeat needs no query.

At start each worker process learns every valid device token, every agent's team and
privacy revision, every team's policy version and every stored status (a few queries,
whatever the fleet's size);
then it reloads tokens and revisions every ``Settings.cache_refresh_s``. Changes are still
signalled to every worker at once (``live.Changes``); the reload bounds what a lost
signal could leave stale and keeps entries from expiring all together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.devices.service import valid_tokens
from deskwatch.server.devices.tokens import TokenCache
from deskwatch.server.periodic import Periodic
from deskwatch.server.policies.service import VersionCache, every_version
from deskwatch.server.privacy.service import every_team_and_rev
from deskwatch.server.status.buffer import HeartbeatBuffer
from deskwatch.server.status.service import known_statuses

log = logging.getLogger(__name__)


class CacheFiller:
    """Fills ``tokens``, ``versions`` and ``heartbeats`` from the database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        tokens: TokenCache,
        versions: VersionCache,
        heartbeats: HeartbeatBuffer,
        every_s: float,
    ) -> None:
        self._sessions, self._clock = sessions, clock
        self.tokens, self.versions, self.heartbeats = tokens, versions, heartbeats
        self._reloads = Periodic("device-cache-reload", every_s, self.reload)

    def start(self) -> None:
        """Fill everything once (a failure is logged: requests then look up), then reload."""
        try:
            with self._sessions() as session:
                self.heartbeats.warm(known_statuses(session))
                self.versions.learn_versions(every_version(session), now=self._clock())
            self.reload()
        except Exception:
            log.exception("device caches not filled at start; requests will look up")
        self._reloads.start()

    def reload(self) -> None:
        now = self._clock()
        with self._sessions() as session:
            self.tokens.refresh(lambda: valid_tokens(session), now=now)
            self.versions.refresh(lambda: every_team_and_rev(session), now=now)

    def close(self) -> None:
        self._reloads.close()
