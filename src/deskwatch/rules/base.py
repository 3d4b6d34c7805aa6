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
# Builds a rule from its event type, signal, config and origin (see ``sustained``).
Debounce = Callable[[EventType, SignalFn, Any, datetime | None], Rule]


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
    debounce: Debounce | None = None  # how its signal becomes events; None: ``sustained``

    def build(self, config: RuleConfig, origin: datetime | None = None) -> Rule:
        """The rule, debounced in frame time by its config's thresholds."""
        return (self.debounce or sustained)(
            self.event_type, self.make_signal(config), config, origin
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
            self._open = open_event(self.event_type, self._since, self._peak, self.origin)
            return [self._open]
        return []

    def _lapses(self, ts: float) -> list[Event]:
        return lapse(self, ts)

    def _close(self, end_s: float) -> Event:
        assert self._open is not None and self._peak is not None
        return close_event(self._open, end_s, self._peak)

    def _reset(self) -> None:
        self._since = self._last_true = self._first_false = None
        self._open = self._peak = None


class Debounced(Protocol):
    """What ``lapse`` needs of a rule: its grace, its pending start, its open event."""

    grace_s: float
    _since: float | None
    _first_false: float | None
    _open: Event | None

    def _close(self, end_s: float) -> Event: ...

    def _reset(self) -> None: ...


def lapse(rule: Debounced, ts: float) -> list[Event]:
    """The signal is gone at ``ts``: once gone for the rule's grace, end its open event (at
    the frame it first went) and forget the pending start."""
    if rule._since is None:
        return []
    if rule._first_false is None:
        rule._first_false = ts
    if ts - rule._first_false < rule.grace_s:
        return []
    out = [] if rule._open is None else [rule._close(rule._first_false)]
    rule._reset()
    return out


def sustained(
    event_type: EventType, signal: SignalFn, config: RuleConfig, origin: datetime | None
) -> SustainedRule:
    """The default debounce: ``signal`` held for the config's ``min_duration_s``."""
    return SustainedRule(event_type, signal, config.min_duration_s, config.end_grace_s, origin)


def open_event(
    event_type: EventType, start_s: float, peak: Signal, origin: datetime | None
) -> Event:
    """An event that started at ``start_s`` (source seconds), open, with ``peak``'s numbers."""
    started_at = None if origin is None else origin + timedelta(seconds=start_s)
    return Event(
        type=event_type,
        start_s=round(start_s, 3),
        end_s=None,
        peak_confidence=_unit(peak.confidence),
        evidence=finite_evidence(peak.evidence),
        started_at=started_at,
    )


def close_event(event: Event, end_s: float, peak: Signal) -> Event:
    """``event`` ended at ``end_s`` with the strongest signal it saw."""
    return event.closed(
        round(end_s, 3),
        peak_confidence=_unit(peak.confidence),
        evidence=finite_evidence(peak.evidence),
    )


def _unit(confidence: float) -> float:
    return round(min(1.0, max(0.0, confidence)), 3)
