"""Summaries of a list of events, for the CLI's table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from deskwatch.events.event import Event


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    seconds: dict[str, float]
    analysed_s: float

    @property
    def away_s(self) -> float:
        return self.seconds.get("away", 0.0)


def summarise(events: Iterable[Event], analysed_s: float) -> Summary:
    counts: Counter[str] = Counter()
    seconds: dict[str, float] = {}
    for event in events:
        counts[event.type] += 1
        seconds[event.type] = seconds.get(event.type, 0.0) + (event.duration_s or 0.0)
    return Summary(dict(counts), {k: round(v, 3) for k, v in seconds.items()}, analysed_s)
