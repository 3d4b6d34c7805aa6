"""Parallel-array detections, in the manner of supervision's ``Detections``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


def _empty_boxes() -> FloatArray:
    return np.zeros((0, 4), dtype=np.float32)


def _empty_scores() -> FloatArray:
    return np.zeros((0,), dtype=np.float32)


@dataclass(frozen=True)
class Detections:
    """N boxes in pixel ``xyxy`` with one confidence and one label each."""

    xyxy: FloatArray = field(default_factory=_empty_boxes)
    confidence: FloatArray = field(default_factory=_empty_scores)
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.xyxy.shape != (n, 4):
            raise ValueError(f"xyxy must have shape ({n}, 4), got {self.xyxy.shape}")
        if self.confidence.shape != (n,):
            raise ValueError(f"confidence must have shape ({n},), got {self.confidence.shape}")

    @classmethod
    def from_lists(
        cls, boxes: list[list[float]], scores: list[float], labels: list[str]
    ) -> Detections:
        return cls(
            xyxy=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            confidence=np.asarray(scores, dtype=np.float32).reshape(-1),
            labels=tuple(labels),
        )

    def __len__(self) -> int:
        return len(self.labels)

    def filter(self, mask: NDArray[np.bool_]) -> Detections:
        """The detections where ``mask`` is true."""
        idx = np.flatnonzero(mask)
        return Detections(self.xyxy[idx], self.confidence[idx], tuple(self.labels[i] for i in idx))

    def with_label(self, *labels: str) -> Detections:
        return self.filter(np.array([lab in labels for lab in self.labels], dtype=bool))

    @property
    def area(self) -> FloatArray:
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        area: FloatArray = (wh[:, 0] * wh[:, 1]).astype(np.float32)
        return area

    def largest(self) -> int | None:
        """Index of the largest box, or None when empty."""
        return int(np.argmax(self.area)) if len(self) else None

    def max_confidence(self) -> float:
        return float(self.confidence.max()) if len(self) else 0.0
