"""Rules turn a stream of observations into debounced events, driven by frame time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.events.event import Event, EventType, finite_evidence
from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage


class RuleConfig(BaseModel):
    """Fields every rule has. ``end_grace_s``: how long the condition must be gone to end."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    end_grace_s: float = Field(default=3.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        raise NotImplementedError


class Rule(Protocol):
    """A small stateful object: feed observations in time order, get events out."""

    event_type: EventType

    def update(self, obs: Observation, ts: float) -> list[Event]: ...

    def flush(self, ts: float) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class Signal:
    """A rule's condition holding on one frame, with its confidence and evidence."""

    confidence: float
    evidence: dict[str, float] = field(default_factory=dict)


SignalFn = Callable[[Observation], Signal | None]


@dataclass(frozen=True)
class RuleSpec:
    """Everything deskwatch needs to know about one rule, declared in its module as ``RULE``.

    ``needs`` are the detectors its signal reads, exactly (``tests/test_privacy_restrict.py``
    checks that they suffice and that each matters); with ``audio`` it reads room audio and
    cannot fire where none is analysed. Its policy section is named as its event type.
    """

    event_type: EventType
    config: type[RuleConfig]
    make_signal: Callable[[Any], SignalFn]  # built from its config
    needs: frozenset[Stage]
    audio: bool = False

    def build(self, config: RuleConfig, origin: datetime | None = None) -> SustainedRule:
        """The rule, debounced in frame time by its config's thresholds."""
        signal = self.make_signal(config)
        return SustainedRule(
            self.event_type, signal, config.min_duration_s, config.end_grace_s, origin
        )


@dataclass
class SustainedRule:
    """Fires once ``signal`` has held for ``min_s``; ends once it is gone for ``grace_s``.

    A gap shorter than ``grace_s`` (one missed detection) neither resets a pending start
    nor ends an open event. The event starts when the condition first held and ends when
    it first stopped holding. ``origin`` maps source seconds to wall-clock time.
    """

    event_type: EventType
    signal: SignalFn
    min_s: float
    grace_s: float
    origin: datetime | None = None
    _since: float | None = None
    _last_true: float | None = None
    _first_false: float | None = None
    _open: Event | None = None
    _peak: Signal | None = None

    def update(self, obs: Observation, ts: float) -> list[Event]:
        sig = self.signal(obs)
        if sig is not None:
            return self._holds(sig, ts)
        return self._lapses(ts)

    def flush(self, ts: float) -> list[Event]:
        """End any open event at ``ts`` (end of the source)."""
        out = [] if self._open is None else [self._close(self._first_false or ts)]
        self._reset()
        return out

    def _holds(self, sig: Signal, ts: float) -> list[Event]:
        if self._since is None:
            self._since = ts
        self._last_true, self._first_false = ts, None
        if self._peak is None or sig.confidence >= self._peak.confidence:
            self._peak = sig
        if self._open is None and ts - self._since >= self.min_s:
            self._open = self._event(end_s=None)
            return [self._open]
        return []

    def _lapses(self, ts: float) -> list[Event]:
        if self._since is None:
            return []
        if self._first_false is None:
            self._first_false = ts
        if ts - self._first_false < self.grace_s:
            return []
        out = [] if self._open is None else [self._close(self._first_false)]
        self._reset()
        return out

    def _event(self, end_s: float | None) -> Event:
        assert self._since is not None and self._peak is not None
        started_at = None if self.origin is None else self.origin + timedelta(seconds=self._since)
        return Event(
            type=self.event_type,
            start_s=round(self._since, 3),
            end_s=end_s,
            peak_confidence=round(min(1.0, max(0.0, self._peak.confidence)), 3),
            evidence=finite_evidence(self._peak.evidence),
            started_at=started_at,
        )

    def _close(self, end_s: float) -> Event:
        assert self._open is not None and self._peak is not None
        return self._open.closed(
            round(end_s, 3),
            peak_confidence=round(min(1.0, max(0.0, self._peak.confidence)), 3),
            evidence=finite_evidence(self._peak.evidence),
        )

    def _reset(self) -> None:
        self._since = self._last_true = self._first_false = None
        self._open = self._peak = None
