"""Waiting for a server to answer (demo, tests, benchmarks)."""

from __future__ import annotations

import time

import httpx


def wait_until_up(url: str, timeout_s: float = 20.0) -> None:
    """Return once ``url`` answers any HTTP status; RuntimeError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")
