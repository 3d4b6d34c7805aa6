"""Server load on PostgreSQL: batched ingest rate, heartbeat latency, board render time.

Run: ``.venv/bin/python -m benchmarks.ingest [--devices 10000 --seconds 30]``. Starts a real
``deskwatch server`` process on a fresh PostgreSQL schema (127.0.0.1:5432, database test),
creates devices directly in the database, and loads the server over loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from tests.server_process import ServerProcess

from deskwatch.server.db import make_engine
from deskwatch.server.devices.models import Device
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role, Site, Team, User, team_supervisors
from deskwatch.server.security import hash_password, token_hash
from deskwatch.server.status.models import AgentStatus

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "benchmark password"


def prepare(schema: str, devices: int) -> tuple[str, list[str]]:
    """A migrated schema with one team of ``devices`` agents, each with a device token."""
    admin = make_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = f"{PG}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    tokens = [uuid.uuid4().hex for _ in range(devices)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        site = conn.execute(insert(Site).values(name="bench").returning(Site.id)).scalar_one()
        team = conn.execute(
            insert(Team).values(site_id=site, name="big").returning(Team.id)
        ).scalar_one()
        hashed = hash_password(PASSWORD)
        sup = conn.execute(
            insert(User)
            .values(
                username="sup",
                display_name="Sup",
                role=Role.SUPERVISOR,
                password_hash=hashed,
                active=True,
                created_at=now,
            )
            .returning(User.id)
        ).scalar_one()
        conn.execute(insert(team_supervisors).values(team_id=team, user_id=sup))
        agents = [
            {
                "username": f"a{i}",
                "display_name": f"Agent {i}",
                "role": Role.AGENT,
                "password_hash": hashed,
                "team_id": team,
                "active": True,
                "created_at": now,
            }
            for i in range(devices)
        ]
        ids = conn.execute(insert(User).returning(User.id), agents).scalars().all()
        # Devices that are already heartbeating: the steady state the target is about.
        conn.execute(
            insert(AgentStatus),
            [{"agent_id": a, "status": "at_desk", "since": now, "last_seen_at": now} for a in ids],
        )
        conn.execute(
            insert(Device),
            [
                {
                    "id": str(uuid.uuid4()),
                    "agent_id": a,
                    "hostname": f"pc{a}",
                    "token_hash": token_hash(t),
                    "enrolled_at": now,
                }
                for a, t in zip(ids, tokens, strict=True)
            ],
        )
    engine.dispose()
    return url, tokens


def batch(n: int, at: datetime) -> dict[str, Any]:
    return {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "type": "away",
                "start_s": 0.0,
                "end_s": 40.0,
                "peak_confidence": 1.0,
                "evidence": {"faces": 0.0},
                "started_at": at.isoformat(),
                "ended_at": (at + timedelta(seconds=40)).isoformat(),
            }
            for _ in range(n)
        ]
    }


async def ingest_rate(base: str, tokens: list[str], batches: int, size: int, clients: int) -> float:
    """Events per second over ``batches`` batches of ``size`` from ``clients`` devices at once."""
    bodies = [batch(size, datetime.now(UTC)) for _ in range(batches)]
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(token: str) -> None:
        async with httpx.AsyncClient(
            base_url=base, timeout=60, headers={"authorization": f"Bearer {token}"}
        ) as client:
            while not queue.empty():
                reply = await client.post("/api/v1/events", json=queue.get_nowait())
                assert reply.status_code == 200, reply.text

    start = time.perf_counter()
    await asyncio.gather(*(worker(t) for t in tokens[:clients]))
    return batches * size / (time.perf_counter() - start)


@dataclass
class BeatFigures:
    latencies_ms: list[float]
    lags_ms: list[float]  # how late each heartbeat left against its schedule
    failures: int
    cpu_s: float = 0.0  # this (load generator) process's CPU time while sending
    wall_s: float = 0.0


class KeepAlive:
    """One HTTP/1.1 keep-alive connection speaking just enough HTTP for a heartbeat.

    Far cheaper per request than httpx, so the generator, which shares the CPUs with the
    server, takes little from it (its CPU time is reported).
    """

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, token: str) -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\nauthorization: Bearer {token}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        try:
            reply = await self.reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in reply.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await self.reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError):
            self.close()
            raise
        return int(reply[9:12])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def heartbeats(
    base: str, tokens: list[str], seconds: float, period_s: float, senders: int = 100
) -> BeatFigures:
    """Every device beats once per ``period_s``, spread evenly, for ``seconds``.

    A scheduler queues (due time, token); ``senders`` keep-alive connections send them.
    Latency is the server's answer time; lag shows whether the load was actually offered on
    schedule.
    """
    figures = BeatFigures([], [], 0)
    queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()

    async def sender() -> None:
        conn = KeepAlive(base)
        while (item := await queue.get()) is not None:
            due, token = item
            figures.lags_ms.append((time.perf_counter() - due) * 1000)
            body = json.dumps({"status": "at_desk", "sent_at": datetime.now(UTC).isoformat()})
            t0 = time.perf_counter()
            try:
                code = await conn.post("/api/v1/heartbeat", body.encode(), token)
                figures.failures += code != 200
            except (OSError, asyncio.IncompleteReadError, ValueError):
                figures.failures += 1
            figures.latencies_ms.append((time.perf_counter() - t0) * 1000)
        conn.close()

    cpu0 = time.process_time()
    workers = [asyncio.create_task(sender()) for _ in range(senders)]
    interval, start = period_s / len(tokens), time.perf_counter()
    for i in range(int(seconds / interval)):
        due = start + i * interval
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        queue.put_nowait((due, tokens[i % len(tokens)]))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    figures.cpu_s, figures.wall_s = time.process_time() - cpu0, time.perf_counter() - start
    return figures


def board_times(base: str, rounds: int = 10, warmup: int = 4) -> dict[str, list[float]]:
    """ms for the JSON board and the HTML board page of the whole team, ``rounds`` each
    after ``warmup`` unmeasured ones (templates compiled, connections opened)."""
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=True)
    login = client.post("/api/v1/auth/login", json={"username": "sup", "password": PASSWORD})
    login.raise_for_status()
    times: dict[str, list[float]] = {"/api/v1/board": [], "/": []}
    for i in range(warmup + rounds):
        for path, bucket in times.items():
            t0 = time.perf_counter()
            client.get(path).raise_for_status()
            if i >= warmup:
                bucket.append((time.perf_counter() - t0) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="heartbeat load duration")
    parser.add_argument("--warmup", type=float, default=30.0, help="heartbeats not measured")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url, tokens = prepare(schema, args.devices)
    server = ServerProcess(url, Path(tempfile.mkdtemp(prefix="deskwatch-bench-")), args.workers)
    server.start()
    base = server.url
    print(f"server: {args.workers} worker process(es) on PostgreSQL, load from this process")
    try:
        rate = asyncio.run(ingest_rate(base, tokens, args.batches, 1000, clients=4))
        print(f"ingest: {rate:,.0f} events/s ({args.batches} batches of 1,000, 4 devices at once)")
        if args.warmup > 0:  # steady state: every worker has seen the devices before
            asyncio.run(heartbeats(base, tokens, args.warmup, 30.0))
        beats = asyncio.run(heartbeats(base, tokens, args.seconds, 30.0))
        lat, lag = beats.latencies_ms, beats.lags_ms
        print(
            f"heartbeats: {args.devices:,} devices every 30 s ({args.devices / 30:.0f}/s) for "
            f"{args.seconds:.0f} s: {len(lat)} sent ({len(lat) / beats.wall_s:.0f}/s), "
            f"{beats.failures} failed; latency p50 {pct(lat, 0.5):.1f} ms, p95 "
            f"{pct(lat, 0.95):.1f} ms, p99 {pct(lat, 0.99):.1f} ms; send lag p99 "
            f"{pct(lag, 0.99):.0f} ms (large lag = the load was not held)"
        )
        print(
            f"load generator CPU {beats.cpu_s / beats.wall_s:.0%} of one core; load average "
            f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
        )
        boards = board_times(base)
        api, html = boards["/api/v1/board"], boards["/"]
        print(
            f"board for {args.devices:,} agents: JSON median {statistics.median(api):.0f} ms "
            f"(p90 {pct(api, 0.9):.0f}), HTML page median {statistics.median(html):.0f} ms "
            f"(p90 {pct(html, 0.9):.0f})"
        )
    finally:
        server.stop()
        admin = make_engine(PG)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
