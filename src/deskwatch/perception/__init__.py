"""Perception: one module per detector, registered by name, numbers out."""

from deskwatch.perception import (  # noqa: F401  (imported to register)
    camera_health,
    face_detection,
    face_mesh,
    hands,
    objects,
)
from deskwatch.perception.base import Detector, DetectorConfig, create, registered

__all__ = ["Detector", "DetectorConfig", "create", "registered"]
