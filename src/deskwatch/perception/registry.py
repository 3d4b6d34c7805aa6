"""The detector registry: every module in ``perception/detectors/`` declares a ``DETECTOR``.

What the pipeline, the gate, the policy and the worker's page need to know about a
detector is derived from these specs: the order stages run in (from what each reads),
when each runs (its gating), whether a skipped frame keeps its value (carry-over), the
policy's config union and defaults, and the words the local page uses. Adding a detector
is one module here plus its ``Stage`` member (see CONTRIBUTING.md).
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from deskwatch.gating.view import Gating
from deskwatch.perception.base import Detector, DetectorConfig
from deskwatch.perception.stage import Stage

if TYPE_CHECKING:
    from deskwatch.perception.observation import Observation


class Carry(enum.Enum):
    """What an observation holds for a stage the gate skipped on this frame."""

    NONE = "none"  # nothing: the stage runs on every analysed frame
    ALWAYS = "always"  # the last value
    WITH_FACE = "with_face"  # the last value while a face is in view; cleared without one


@dataclass(frozen=True)
class DetectorSpec:
    """Everything deskwatch needs to know about one detector, declared in its module."""

    stage: Stage
    config: type[DetectorConfig]
    factory: Callable[[Any], Detector]  # built from its config; heavy libraries load here
    output: str  # the ``Observation`` field it fills
    title: str  # what it is, in a worker's words
    describe: Callable[[Observation], str | None]  # its last value in plain words
    reads: frozenset[Stage] = field(default_factory=frozenset)  # it runs after these
    gating: Gating | None = None  # None: every analysed frame
    carry: Carry = Carry.NONE
    default_on: bool = True  # part of the default policy


def _discover() -> list[DetectorSpec]:
    from deskwatch.perception import detectors

    specs = []
    for info in pkgutil.iter_modules(detectors.__path__):
        module = importlib.import_module(f"{detectors.__name__}.{info.name}")
        spec = getattr(module, "DETECTOR", None)
        if not isinstance(spec, DetectorSpec):
            raise TypeError(f"{module.__name__} declares no DETECTOR spec")
        specs.append(spec)
    return specs


def run_order(specs: list[DetectorSpec]) -> list[DetectorSpec]:
    """Each detector after every one it reads; ties in ``Stage`` order."""
    by_stage = {s.stage: s for s in specs}
    if len(by_stage) != len(specs):
        raise ValueError("two detectors declare the same stage")
    ordered: list[DetectorSpec] = []
    waiting = sorted(specs, key=lambda s: list(Stage).index(s.stage))
    while waiting:
        done = {s.stage for s in ordered}
        ready = next((s for s in waiting if s.reads & set(by_stage) <= done), None)
        if ready is None:
            raise ValueError(f"detectors read each other in a cycle: {[s.stage for s in waiting]}")
        ordered.append(ready)
        waiting.remove(ready)
    return ordered


@cache
def detectors() -> dict[Stage, DetectorSpec]:
    """Every registered detector by stage, in run order."""
    return {s.stage: s for s in run_order(_discover())}


def stage_order() -> tuple[Stage, ...]:
    return tuple(detectors())


def spec_of(stage: str) -> DetectorSpec:
    try:
        return detectors()[Stage(stage)]
    except ValueError:
        raise KeyError(f"no detector registered as {stage!r}") from None


def create(config: DetectorConfig) -> Detector:
    """Build the detector that ``config.type`` names."""
    return spec_of(config.type).factory(config)


def default_configs() -> dict[str, DetectorConfig]:
    """The default policy's detectors: each that is on by default, with its defaults."""
    return {
        s.stage.value: s.config.model_validate({"type": s.stage.value})
        for s in detectors().values()
        if s.default_on
    }
