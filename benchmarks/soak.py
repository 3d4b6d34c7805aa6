"""Soak: the real agent and a real server process, with the server SIGKILLed and restarted
every few seconds and a flaky proxy between them; at the end every event is stored once.

Run: ``.venv/bin/python -m benchmarks.soak [--minutes 30] [--restart-every-s 180]``. The agent
(``AgentRunner`` in this process) plays a clip from ``../shared`` in real time, forever, while
this process puts batches of known events straight into its outbox (open first, closed a
round later). The server keeps its SQLite file across restarts. Then the agent stops, the
proxy calms down and the outbox drains; the figures compare the outbox journal with the
server's events table.
"""

from __future__ import annotations

import argparse
import logging
import random
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from tests.agent.conftest import Server, enroll, seed
from tests.flaky_proxy import Faults, FlakyProxy

from deskwatch.agent.config import load_credentials
from deskwatch.agent.outbox import Outbox
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.events.event import Event
from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.events.models import EventRecord
from deskwatch.server.orgs.models import User
from deskwatch.server.policies.service import publish
from deskwatch.server.settings import Settings
from deskwatch.transport.client import DeviceClient
from deskwatch.transport.uploader import Backoff, Uploader

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev" / "videos"
CLIP = SHARED / "people-enter-leave-room.mp4"
DRAIN_TIMEOUT_S = 180.0
# Short thresholds, so that people coming and going in the clip make many events.
SENSITIVE = """
[rules.away]
min_away_s = 2
[rules.extra_person]
min_extra_s = 1
end_grace_s = 0.5
[rules.looking_away]
min_looking_away_s = 1
end_grace_s = 0.5
"""


@dataclass
class Plan:
    """How long, how often the server dies, and the known events put in."""

    seconds: float
    restart_every_s: float
    inject_every_s: float = 2.0
    inject_n: int = 20
    max_down_s: float = 3.0
    seed: int = 16
    faults: Faults = field(default_factory=Faults)


@dataclass
class Figures:
    produced: int = 0  # by the agent's pipeline
    injected: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0  # on the server, never enqueued
    not_closed: int = 0  # events still open on the server (every one was closed at the end)
    dead: int = 0
    restarts: int = 0
    max_lag_s: float = 0.0
    drain_s: float = 0.0
    proxy: str = ""
    event_replies_dropped: int = 0
    lost_ids: list[str] = field(default_factory=list)

    def report(self) -> str:
        return "\n".join(
            [
                f"events produced by the agent: {self.produced}; put in directly: {self.injected}",
                f"stored on the server        : {self.stored}",
                f"lost {self.lost}, duplicated {self.duplicated}, unexpected {self.unexpected}, "
                f"ends lost {self.not_closed}, dead {self.dead}",
                f"server restarts (SIGKILL)   : {self.restarts}",
                f"proxy                       : {self.proxy}",
                f"max delivery lag {self.max_lag_s:.1f} s; final drain {self.drain_s:.1f} s",
            ]
        )


class Injector:
    """Puts ``n`` known open events into the outbox each round and closes last round's."""

    def __init__(self, outbox: Outbox, n: int) -> None:
        self.outbox, self.n = outbox, n
        self.ids: set[str] = set()
        self._open: list[Event] = []

    def round(self) -> None:
        now = datetime.now(UTC)
        closed = [e.model_copy(update={"end_s": 30.0, "ended_at": now}) for e in self._open]
        self._open = [
            Event(type="away", start_s=0.0, peak_confidence=0.9, started_at=now)
            for _ in range(self.n)
        ]
        self.outbox.put(closed + self._open)
        self.ids.update(str(e.id) for e in self._open)

    def finish(self) -> None:
        self.n = 0
        self.round()


def publish_sensitive(server: Server) -> None:
    """The agent's team gets the ``SENSITIVE`` policy (audited, as the web UI would)."""
    engine = make_engine(server.db_url)
    keys = Settings(secret_key_file=server.folder / "server.secret")
    sessions = attach(session_factory(engine), AuditChain.from_settings(keys, create=False))
    with sessions() as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        agent = s.scalars(select(User).where(User.username == "agent")).one()
        assert agent.team_id is not None
        publish(s, team_id=agent.team_id, toml=SENSITIVE, actor=admin, now=datetime.now(UTC))
        s.commit()
    engine.dispose()


def kill_and_restart(server: Server, rng: random.Random, max_down_s: float) -> None:
    assert server.proc is not None
    server.proc.kill()  # SIGKILL: no shutdown, whatever was in flight is cut
    server.proc.wait()
    server.proc = None
    time.sleep(rng.uniform(0.0, max_down_s))
    server.start(timeout_s=60)


def agent(state: Path, clip: Path, proxy_url: str) -> AgentRunner:
    config = load_credentials(state)
    opts = RunOptions(
        source=str(clip),
        realtime=True,
        repeat=0,
        rate=5,
        heartbeat_s=1.0,
        page_port=None,
        max_backoff_s=2.0,
        batch_size=50,
    )
    return AgentRunner(config, state, opts, DeviceClient(proxy_url, config.token))


def chaos(plan: Plan, server: Server, injector: Injector, figures: Figures) -> None:
    """Inject and restart until the plan's time is up."""
    rng = random.Random(plan.seed)
    start = time.monotonic()
    next_restart = start + plan.restart_every_s
    while (now := time.monotonic()) < start + plan.seconds:
        if now >= next_restart:
            kill_and_restart(server, rng, plan.max_down_s)
            figures.restarts += 1
            next_restart = time.monotonic() + plan.restart_every_s
        injector.round()
        time.sleep(plan.inject_every_s)


def drain(state: Path, proxy_url: str) -> float:
    """Send what the stopped agent left in its outbox (the real uploader); seconds taken."""
    config = load_credentials(state)
    box = Outbox(state / "outbox.db")
    up = Uploader(box, DeviceClient(proxy_url, config.token), backoff=Backoff(cap_s=1.0))
    t0 = time.monotonic()
    try:
        while len(box) and time.monotonic() - t0 < DRAIN_TIMEOUT_S:
            wait = up.step()
            if wait > 0:
                time.sleep(wait)
    finally:
        box.close()
    return time.monotonic() - t0


def count(figures: Figures, server: Server, state: Path, injected: set[str]) -> None:
    with sqlite3.connect(state / "outbox.db") as db:
        journal = dict(db.execute("SELECT id, enqueued_at FROM journal").fetchall())
        figures.dead = int(db.execute("SELECT COUNT(*) FROM dead").fetchone()[0])
    engine = make_engine(server.db_url)
    with session_factory(engine)() as s:
        rows = s.execute(
            select(EventRecord.id, func.count(), func.min(EventRecord.received_at)).group_by(
                EventRecord.id
            )
        ).all()
        open_ids = set(s.scalars(select(EventRecord.id).where(EventRecord.end_s.is_(None))))
    engine.dispose()
    stored = {str(r[0]): r[2] for r in rows}
    figures.injected, figures.produced = len(injected), len(set(journal) - injected)
    figures.stored = len(stored)
    figures.lost_ids = sorted(set(journal) - set(stored))
    figures.lost = len(figures.lost_ids)
    figures.duplicated = sum(int(r[1]) - 1 for r in rows)
    figures.unexpected = len(set(stored) - set(journal))
    figures.not_closed = len(open_ids)
    lags = [stored[i].timestamp() - journal[i] for i in stored if i in journal]
    figures.max_lag_s = max(lags, default=0.0)


def soak(plan: Plan, clip: Path, work: Path, database_url: str | None = None) -> Figures:
    """Run the plan in ``work`` (the server on SQLite there, or on ``database_url``)."""
    figures = Figures()
    server = Server(work / "server.db", database_url)
    seed(server.db_url)
    server.start()
    publish_sensitive(server)
    state = work / "agent"
    enroll(server.url, state, server.code())
    proxy = FlakyProxy(server.port, seed=plan.seed, faults=plan.faults).start()
    try:
        runner = agent(state, clip, proxy.url)
        thread = threading.Thread(target=runner.run, name="agent", daemon=True)
        thread.start()
        injector = Injector(runner.outbox, plan.inject_n)
        try:
            chaos(plan, server, injector, figures)
            injector.finish()
        finally:
            runner.stop.set()
            thread.join(60)
        proxy.calm()
        figures.drain_s = drain(state, proxy.url)
        figures.proxy, figures.event_replies_dropped = (
            proxy.stats.line(),
            proxy.stats.dropped_event_replies,
        )
        count(figures, server, state, injector.ids)
    finally:
        proxy.close()
        server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--restart-every-s", type=float, default=180.0)
    parser.add_argument("--inject-every-s", type=float, default=2.0)
    parser.add_argument("--inject-n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--clip", default=str(CLIP))
    parser.add_argument("--database-url", help="the server's database (default: SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(name)s %(message)s")
    plan = Plan(
        args.minutes * 60, args.restart_every_s, args.inject_every_s, args.inject_n, seed=args.seed
    )
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(args.clip)
        if not clip.exists():
            from deskwatch.demo.clip import write_demo_clip

            clip = write_demo_clip(Path(tmp) / "demo.mp4")
        print(f"soak: {args.minutes:g} min, server SIGKILLed every {args.restart_every_s:g} s, "
              f"clip {clip}", flush=True)  # fmt: skip
        figures = soak(plan, clip, Path(tmp), args.database_url)
    print(figures.report())
    if figures.lost_ids:
        print("lost:", " ".join(figures.lost_ids[:20]))


if __name__ == "__main__":
    main()
