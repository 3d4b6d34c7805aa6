"""The Prometheus metrics every process counts: counts and timings only, never a name.

Defined once per process at import. Under ``deskwatch server --workers N`` the server sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start, so each worker keeps its values in
that folder and a scrape of any worker adds them up (prometheus-client's multiprocess
mode). Every update here is O(1): no database, no lock beyond the metric's own."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# A heartbeat answered from memory takes well under a millisecond; a stored one a few.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

EVENTS_RECEIVED = Counter(
    "deskwatch_events_received", "Events received from agents' PCs (new or updated)"
)
HEARTBEAT_SECONDS = Histogram(
    "deskwatch_heartbeat_seconds",
    "Time to answer a heartbeat, by path (memory: noted for the next flush; stored: "
    "written in its own transaction)",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
HEARTBEAT_MEMORY = HEARTBEAT_SECONDS.labels(path="memory")
HEARTBEAT_STORED = HEARTBEAT_SECONDS.labels(path="stored")
BUFFER_PENDING = Gauge(
    "deskwatch_heartbeat_buffer_pending",
    "Heartbeats waiting in memory when the last flush began (summed over workers)",
    multiprocess_mode="livesum",
)
BUFFER_FLUSH_FAILURES = Counter(
    "deskwatch_heartbeat_flush_failures", "Heartbeat flushes the database refused (retried)"
)
PURGE_RUNS = Counter(
    "deskwatch_purge_runs",
    "Scheduled retention purges, by outcome (done, skipped: another process held the lock, failed)",
    ["outcome"],
)
PURGED_ROWS = Counter("deskwatch_purged_rows", "Rows the scheduled purges deleted")
WEBHOOK_FAILURES = Counter(
    "deskwatch_webhook_failures", "Webhook deliveries that failed (each try counts)"
)
for _outcome in ("done", "skipped", "failed"):
    PURGE_RUNS.labels(outcome=_outcome)


def multiprocess_dir() -> str | None:
    """The folder the workers share their values in, when the server runs several."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(extra: str = "") -> bytes:
    """Every metric of this process (or of all workers), in the text format, then
    ``extra`` (metrics computed for this scrape)."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    return text + extra.encode()


def gauge_lines(name: str, help_text: str, label: str, values: dict[str, int]) -> str:
    """One gauge family in the text format (values computed at scrape time)."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f'{name}{{{label}="{key}"}} {value}' for key, value in sorted(values.items())]
    return "\n".join(lines) + "\n"


def prepare_multiprocess_dir(path: str) -> None:
    """An empty folder for this run's values: what an earlier run left would be added in."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
