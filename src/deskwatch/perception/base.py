"""The detector contract: its config's common fields, the protocol, model-wrapper helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, Self

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
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
