"""A flaky TCP proxy on 127.0.0.1 for soak tests: it forwards bytes to one upstream port and,
by a seeded RNG, delays them, drops connections mid-request or after the request reached the
server but before its reply came back (the case that tempts a client to send twice), and
refuses connections for short windows (the listening socket is closed, so connects fail).

The proxy runs its own asyncio loop in a daemon thread; ``calm()`` turns every fault off.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

LOCAL = "127.0.0.1"
CHUNK = 64 * 1024


@dataclass
class Faults:
    """Chances per chunk (delay, drop) and per second (a refusal window); bounded delays."""

    delay_p: float = 0.3
    max_delay_s: float = 2.0
    drop_request_p: float = 0.05  # forward half a request chunk, then cut
    drop_reply_p: float = 0.1  # the server answered; the reply never arrives
    refuse_per_s: float = 0.02
    max_refuse_s: float = 3.0


@dataclass
class ProxyStats:
    connections: int = 0
    delays: int = 0
    delayed_s: float = 0.0
    dropped_requests: int = 0
    dropped_replies: int = 0
    dropped_event_replies: int = 0  # of those: POST /api/v1/events, stored but not acked
    refusals: int = 0
    refused_s: float = 0.0
    upstream_down: int = 0  # connections the server was not there for

    def line(self) -> str:
        return (
            f"connections {self.connections}, delays {self.delays} ({self.delayed_s:.0f} s), "
            f"dropped mid-request {self.dropped_requests}, dropped before the reply "
            f"{self.dropped_replies} ({self.dropped_event_replies} of event uploads), "
            f"refusal windows {self.refusals} ({self.refused_s:.0f} s), "
            f"upstream down {self.upstream_down}"
        )


@dataclass
class Conn:
    """One client connection: the request line it sent last."""

    request: bytes = b""


@dataclass
class FlakyProxy:
    """``start()`` then ``url``; ``close()`` at the end."""

    upstream_port: int
    seed: int = 16
    faults: Faults = field(default_factory=Faults)
    stats: ProxyStats = field(default_factory=ProxyStats)
    port: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._chaos: Future[None] | None = None
        self._calm = False

    @property
    def url(self) -> str:
        return f"http://{LOCAL}:{self.port}"

    def start(self) -> FlakyProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self._chaos = asyncio.run_coroutine_threadsafe(self._refusals(), self._loop)
        return self

    def calm(self) -> None:
        """No more faults: every byte goes through at once (for the final drain)."""
        self._calm = True
        asyncio.run_coroutine_threadsafe(self._ensure_listening(), self._loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, LOCAL, self.port, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _ensure_listening(self) -> None:
        if self._server is None:
            await self._listen()

    async def _refusals(self) -> None:
        """Once a second, maybe close the listening socket for a while."""
        while True:
            await asyncio.sleep(1.0)
            if self._calm or self._rng.random() >= self.faults.refuse_per_s:
                continue
            window = self._rng.uniform(0.5, self.faults.max_refuse_s)
            assert self._server is not None
            self._server.close()
            self._server = None
            self.stats.refusals += 1
            self.stats.refused_s += window
            await asyncio.sleep(window)
            await self._ensure_listening()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(LOCAL, self.upstream_port)
        except OSError:
            self.stats.upstream_down += 1
            client_w.close()
            return
        conn = Conn()
        up = asyncio.ensure_future(self._pump(client_r, server_w, conn, upward=True))
        down = asyncio.ensure_future(self._pump(server_r, client_w, conn, upward=False))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass  # the proxy is closing
        finally:
            for task in (up, down):
                task.cancel()
            for writer in (client_w, server_w):
                writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Conn,
        *,
        upward: bool,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(CHUNK):
                if upward and chunk[:4] in (b"POST", b"GET "):
                    conn.request = chunk.split(b"\r\n", 1)[0]
                if not await self._fault(chunk, writer, conn, upward=upward):
                    return
                writer.write(chunk)
                await writer.drain()

    async def _fault(
        self, chunk: bytes, writer: asyncio.StreamWriter, conn: Conn, *, upward: bool
    ) -> bool:
        """Apply this chunk's faults; False: the connection is cut now."""
        if self._calm:
            return True
        f, rng = self.faults, self._rng
        if rng.random() < f.delay_p:
            wait = rng.uniform(0.0, f.max_delay_s)
            self.stats.delays += 1
            self.stats.delayed_s += wait
            await asyncio.sleep(wait)
        if upward and rng.random() < f.drop_request_p:
            self.stats.dropped_requests += 1
            writer.write(chunk[: len(chunk) // 2])
            await writer.drain()
            return False
        if not upward and rng.random() < f.drop_reply_p:
            self.stats.dropped_replies += 1
            if conn.request.startswith(b"POST /api/v1/events "):
                self.stats.dropped_event_replies += 1
            return False
        return True
