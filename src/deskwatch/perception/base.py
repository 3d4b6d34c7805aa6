"""The detector contract and the registry that finds detectors by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from deskwatch.capture.frame import Frame
from deskwatch.perception.observation import Observation


class DetectorConfig(BaseModel):
    """Fields every detector config has; subclasses add ``type: Literal[KEY]``."""

    model_config = ConfigDict(extra="forbid")

    type: str
    enabled: bool = True


class Detector(Protocol):
    """One perception stage: reads a frame, fills its part of the observation.

    ``detect`` must be called with increasing ``frame.ts``. A detector returns numbers,
    never pixels, and keeps no frame after it returns.
    """

    key: ClassVar[str]

    def detect(self, frame: Frame, obs: Observation) -> None: ...

    def close(self) -> None: ...


DetectorFactory = Callable[[Any], Detector]
_REGISTRY: dict[str, tuple[type[DetectorConfig], DetectorFactory]] = {}

C = TypeVar("C", bound=DetectorConfig)


def register(
    key: str, config_cls: type[C]
) -> Callable[[Callable[[C], Detector]], Callable[[C], Detector]]:
    """Class decorator / factory registration: ``@register("face", FaceConfig)``."""

    def wrap(factory: Callable[[C], Detector]) -> Callable[[C], Detector]:
        if key in _REGISTRY:
            raise ValueError(f"detector {key!r} registered twice")
        _REGISTRY[key] = (config_cls, factory)
        return factory

    return wrap


def registered() -> dict[str, tuple[type[DetectorConfig], DetectorFactory]]:
    return dict(_REGISTRY)


def create(config: DetectorConfig) -> Detector:
    """Build the detector that ``config.type`` names."""
    key = config.type
    if key not in _REGISTRY:
        raise KeyError(f"no detector registered as {key!r}")
    return _REGISTRY[key][1](config)


class TimestampGuard:
    """MediaPipe-style misuse check: timestamps given to a model must increase."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._last = float("-inf")

    def check(self, ts: float) -> None:
        if ts <= self._last:
            raise ValueError(f"{self._name}: timestamp {ts} is not after {self._last}")
        self._last = ts


class ModelWrapper:
    """Context-manager plumbing for wrappers whose ``close()`` frees a model."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
